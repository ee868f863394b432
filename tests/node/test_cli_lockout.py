"""``tocsin admin reset-password`` and ``tocsin admin disable-2fa``: for whoever is
locked out of the admin. Each ends the account's sessions (server-side rows, so a
copied cookie dies too) and leaves an audit entry naming the command line.

The command runs in this process (``node.cli.main``, in a thread: it runs its own
event loop) against the database of a node served in-process; browsers talk to
that node over its ASGI transport.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pyotp
import pytest
from sqlalchemy import select

from node.cli import main
from node.models import AuditEntry, User
from node.users import create_user
from tests.support.admin import login
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "a good long passphrase"
Tocsin = Callable[..., Awaitable[int]]
ONE_TIME_RE = re.compile(r"One-time password for 'ada': (\S+)")


@pytest.fixture
def tocsin(node: Node, monkeypatch: pytest.MonkeyPatch) -> Tocsin:
    """``tocsin ARGS…`` pointed at ``node``'s database, as its admin would run it."""
    monkeypatch.setenv("TOCSIN_DATA_DIR", str(node.settings.data_dir))
    monkeypatch.setenv("TOCSIN_DATABASE_URL", node.settings.database_url)
    monkeypatch.setenv("TOCSIN_BASE_URL", node.base_url)

    async def run(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))

    return run


def browser(node: Node) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url)


@pytest.fixture
async def ada(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """The admin ``ada``, logged in in a browser."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, "ada", "admin", PASSWORD, must_change=False, hasher=CHEAP_HASHER)
    async with browser(node) as client:
        assert (await login(client, "ada", PASSWORD)).status_code == 303
        assert await logged_in(client)
        yield client


async def logged_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/admin/password")).status_code == 200


async def audit_rows(node: Node) -> list[tuple[str, str, str]]:
    async with node.ctx.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.username, AuditEntry.action, AuditEntry.target).order_by(
                AuditEntry.id
            )
        )
    return [tuple(row) for row in rows.all()]


async def test_reset_password_prints_a_one_time_password_that_must_be_changed(
    node: Node, ada: httpx.AsyncClient, tocsin: Tocsin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await tocsin("admin", "reset-password", "ada") == 0
    match = ONE_TIME_RE.search(capsys.readouterr().out)
    assert match, "no one-time password printed"
    assert not await logged_in(ada), "a session of the account survives the reset"
    async with browser(node) as fresh:
        assert (await login(fresh, "ada", PASSWORD)).status_code == 401  # the old one is gone
        assert (await login(fresh, "ada", match.group(1))).status_code == 303
        forced = await fresh.get("/admin")
        assert forced.status_code == 303 and forced.headers["location"] == "/admin/password"
    assert ("(command line)", "user.password_reset", "ada") in await audit_rows(node)


async def test_disable_2fa_lets_the_account_log_in_with_its_password_alone(
    node: Node, ada: httpx.AsyncClient, tocsin: Tocsin, capsys: pytest.CaptureFixture[str]
) -> None:
    async with node.ctx.sessions() as session, session.begin():
        user = await session.scalar(select(User).where(User.username == "ada"))
        assert user is not None
        user.totp_secret = pyotp.random_base32()  # the phone with the codes is lost
    async with browser(node) as before:
        asked = await login(before, "ada", PASSWORD)
        assert asked.headers["location"] == "/admin/login/totp"
    assert await tocsin("admin", "disable-2fa", "ada") == 0
    assert "Two-factor authentication is off for 'ada'" in capsys.readouterr().out
    assert not await logged_in(ada), "a session of the account survives turning 2FA off"
    async with browser(node) as after:
        assert (await login(after, "ada", PASSWORD)).headers["location"] == "/admin"
        assert await logged_in(after)
    assert ("(command line)", "user.totp_disable", "ada") in await audit_rows(node)


async def test_disable_2fa_refuses_an_account_without_it_and_changes_nothing(
    node: Node, ada: httpx.AsyncClient, tocsin: Tocsin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await tocsin("admin", "disable-2fa", "ada") == 2
    assert "'ada' does not use two-factor authentication" in capsys.readouterr().err
    assert await logged_in(ada)
    assert not [row for row in await audit_rows(node) if row[0] == "(command line)"]


@pytest.mark.parametrize("command", ["reset-password", "disable-2fa"])
async def test_locked_out_commands_name_an_unknown_account(
    node: Node, tocsin: Tocsin, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert await tocsin("admin", command, "nobody") == 2
    err = capsys.readouterr().err
    assert err.strip() == "tocsin: there is no user named 'nobody'"
