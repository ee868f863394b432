"""Mastodon's domain-block CSV (node/block_csv.py) and ``tocsin blocks import|export``:
a file exported by Mastodon is read as it is (tests/fixtures/blocklists/)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from node.block_csv import HEADER, BlockEntry, CsvError, format_csv, parse_csv
from node.cli import main

HOSTILE_REASON = "Harassment, doxxing of organisers"
FIXTURE = Path(__file__).parents[1] / "fixtures" / "blocklists" / "mastodon_domain_blocks.csv"


def test_a_mastodon_export_is_read_with_silence_as_a_block_and_noop_and_stars_skipped() -> None:
    parsed = parse_csv(FIXTURE.read_text())
    assert parsed.entries == [
        BlockEntry("hostile.example", "suspend", "Harassment, doxxing of organisers"),
        BlockEntry("spam.example", "silence", "Spam"),
        BlockEntry("exact-but-hidden.example", "suspend", ""),  # obfuscated, but no star
    ]
    assert parsed.skipped == [
        "media.example: severity 'noop' is not a block here",
        "po**ce.example: obfuscated, cannot be matched to a server",
    ]


def test_written_csv_has_mastodons_header_and_quotes_commas_in_reasons() -> None:
    text = format_csv([BlockEntry("hostile.example", "suspend", 'Doxxing, "research"')])
    assert text.splitlines()[0] == ",".join(HEADER)
    assert (
        text.splitlines()[1] == 'hostile.example,suspend,false,false,"Doxxing, ""research""",false'
    )
    assert parse_csv(text).entries == [
        BlockEntry("hostile.example", "suspend", 'Doxxing, "research"')
    ]


def test_a_plain_list_of_domains_is_read_as_suspensions() -> None:
    parsed = parse_csv("bad.example\n\nWorse.Example\nnot a domain\n")
    assert [e.domain for e in parsed.entries] == ["bad.example", "worse.example"]
    assert parsed.skipped and parsed.skipped[0].startswith("not a domain: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("#domain\n" + "a.example\n" * 10_001, "at most 10000")],
)
def test_unreadable_files_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(CsvError, match=message):
        parse_csv(text)


@pytest.fixture
def node_env(tmp_path: Path, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("TOCSIN_") and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOCSIN_DATABASE_URL", migrated_database_url)
    assert main(["migrate"]) == 0  # makes the node's actors
    return tmp_path


def test_cli_imports_a_mastodon_file_and_exports_it_back(
    node_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["block", "local.example", "--reason", "ours"]) == 0
    assert main(["blocks", "import", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "Blocked 3 servers" in out and "skipped po**ce.example" in out
    assert main(["blocks", "import", str(FIXTURE)]) == 0  # again: nothing new
    assert "Blocked 0 servers (3 already blocked)" in capsys.readouterr().out
    assert main(["blocks"]) == 0
    listing = capsys.readouterr().out
    assert "hostile.example    [from csv:mastodon_domain_blocks.csv]" in listing

    exported = node_env / "export.csv"
    assert main(["blocks", "export", str(exported)]) == 0
    with exported.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(HEADER)
    assert rows[1:] == [
        ["exact-but-hidden.example", "suspend", "false", "false", "", "false"],
        [
            "hostile.example",
            "suspend",
            "false",
            "false",
            "Harassment, doxxing of organisers",
            "false",
        ],
        ["local.example", "suspend", "false", "false", "", "false"],  # the private reason stays
        ["spam.example", "silence", "false", "false", "Spam", "false"],
    ]


def test_cli_import_of_a_missing_file_fails_with_one_line(
    node_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["blocks", "import", str(node_env / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tocsin: ") and len(err.strip().splitlines()) == 1
    assert main(["blocks", "publish", "maybe"]) == 2
