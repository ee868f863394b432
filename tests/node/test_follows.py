"""A node on a plain-http loopback address (what ``make run`` starts) cannot follow
anyone on the public fediverse. Asked to, on the command line or on the admin's
federation page, it says so and what to do (an https ``TOCSIN_BASE_URL``, or
``make demo``), before any request leaves it, rather than "refusing a URL with
scheme 'http'"."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.cli import main
from node.models import Following
from tests.support.admin import post_form
from tests.support.admin_federation import count, logged_in
from tests.support.nodes import Node, asgi_node, make_settings

BASE = "http://127.0.0.1:8000"


def assert_says_what_to_do(message: str) -> None:
    assert BASE in message
    assert "TOCSIN_BASE_URL" in message and "https" in message
    assert "make demo" in message
    assert "scheme" not in message


def test_follow_on_the_command_line_explains_the_loopback_address(
    tmp_path: Path,
    migrated_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(os.environ):
        if name.startswith("TOCSIN_") and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOCSIN_DATABASE_URL", migrated_database_url)
    assert main(["migrate"]) == 0
    capsys.readouterr()
    # example.invalid never resolves: a request would fail with another message
    assert main(["follow", "@network@example.invalid"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert_says_what_to_do(err)


@pytest.fixture
async def loopback_node(tmp_path: Path, migrated_database_url: str) -> AsyncIterator[Node]:
    """A node as ``make run`` starts it: http on loopback, private addresses refused."""
    settings = make_settings(
        tmp_path, migrated_database_url, base_url=BASE, TOCSIN_ALLOW_PRIVATE_ADDRESSES="false"
    )
    async with asgi_node(settings) as running:
        yield running


async def test_follow_form_explains_the_loopback_address(loopback_node: Node) -> None:
    async with logged_in(loopback_node) as admin:
        page = await post_form(
            admin, "/admin/federation", "/admin/federation/follow", handle="@x@example.invalid"
        )
    assert page.status_code == 400
    assert_says_what_to_do(page.text)
    assert await count(loopback_node, Following) == 0
