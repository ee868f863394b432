"""The ``tocsin`` command speaks TOCSIN_LANGUAGE, else the person's locale, else English;
the admin's login pages read the browser's Accept-Language the same careful way."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from node import i18n
from node.cli import main
from node.cli_language import command_language
from node.web.language import accepted


@pytest.fixture
def node_database(
    tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    for name in list(os.environ):
        if name.startswith(("TOCSIN_", "LC_", "LANG")) and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOCSIN_DATABASE_URL", migrated_database_url)
    return migrated_database_url


def test_the_command_speaks_welsh_with_tocsin_language_cy(
    node_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOCSIN_LANGUAGE", "cy")
    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    assert main(["admin", "create", "rosa", "--role", "editor", "--password-stdin"]) == 0
    assert capsys.readouterr().out == "Crëwyd y golygydd 'rosa'.\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["admin", "create", "kim", "--password-stdin"]) == 2
    assert "rhaid i'r cyfrinair fod o leiaf 10 nod o hyd" in capsys.readouterr().err
    assert i18n.current_language() == "en"  # the command's language ends with it


def test_the_command_follows_the_locale_and_otherwise_speaks_english(
    node_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "cy_GB.UTF-8")
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "Mae'r gronfa ddata yn gyfredol.\n"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "Database is up to date.\n"


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"TOCSIN_LANGUAGE": "cy", "LANG": "es_ES.UTF-8"}, "cy"),
        ({"TOCSIN_LANGUAGE": "fr", "LANG": "es_ES.UTF-8"}, "es"),
        ({"LANGUAGE": "fr:cy", "LANG": "de_DE.UTF-8"}, "cy"),
        ({"LANGUAGE": "cy", "LC_ALL": "C"}, "en"),  # GNU gettext: C ignores LANGUAGE
        ({"LC_ALL": "es_ES.UTF-8", "LANG": "cy_GB.UTF-8"}, "es"),  # the first set decides
        ({"LC_MESSAGES": "cy_GB.UTF-8"}, "cy"),
        ({}, "en"),
    ],
)
def test_the_commands_language_comes_from_the_environment(
    environ: dict[str, str], language: str
) -> None:
    assert command_language(environ) == language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("cy-GB,cy;q=0.9,en;q=0.8", "cy"),
        ("en;q=0.5, es;q=0.9", "es"),
        ("fr, de;q=0.9, cy;q=0.1", "cy"),
        ("cy;q=0, fr", None),
        ("cy;q=zero, es", "es"),
        ("", None),
        (None, None),
        ("x" * 600 + ",cy", None),  # read only so far
    ],
)
def test_accept_language_picks_the_most_wanted_language_the_node_speaks(
    header: str | None, language: str | None
) -> None:
    assert (accepted(header or "") or [None])[0] == language
