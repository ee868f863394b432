"""Sessions live on the server: a cookie is only a pointer to a session row, so
logging out, removing a user, changing the password or two-factor settings end
sessions for good, even for a copied cookie, and a new account never inherits
an old one's session. Two-factor codes cannot be brute-forced by logging in
again between wrong codes."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pyotp
import pytest
from sqlalchemy import select

from node.models import User
from node.users import create_user
from node.web.admin import throttle
from tests.support.admin import csrf_of, login, post_form
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "a good long passphrase"
SECRET_RE = re.compile(r'<code class="secret">([A-Z2-7]+)<')


def browser(node: Node) -> httpx.AsyncClient:
    """A fresh browser: its own cookie jar."""
    return httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url)


def copy_of(node: Node, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser holding a copy of ``client``'s cookies (a stolen cookie)."""
    thief = browser(node)
    for cookie in client.cookies.jar:
        thief.cookies.set(cookie.name, cookie.value)
    return thief


async def add_user(node: Node, username: str, role: str = "admin") -> None:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False, hasher=CHEAP_HASHER)


@pytest.fixture
async def admin(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    await add_user(node, "ada")
    async with browser(node) as client:
        assert (await login(client, "ada", PASSWORD)).status_code == 303
        yield client


async def logged_in(client: httpx.AsyncClient) -> bool:
    return (await client.get("/admin/password")).status_code == 200


async def enable_totp(client: httpx.AsyncClient) -> pyotp.TOTP:
    page = await client.get("/admin/totp")
    match = SECRET_RE.search(page.text)
    assert match, "no secret on the two-factor page"
    totp = pyotp.TOTP(match.group(1))
    enabled = await client.post(
        "/admin/totp",
        data={
            "csrf_token": csrf_of(page.text),
            "action": "enable",
            # the previous step's code, so the next two steps are still valid codes
            "code": totp.generate_otp(totp.timecode(datetime.now()) - 1),
            "password": PASSWORD,
        },
    )
    assert enabled.status_code == 200, enabled.text  # the recovery codes, shown once
    return totp


async def test_removed_users_cookie_does_not_log_in_as_a_new_account(
    node: Node, admin: httpx.AsyncClient
) -> None:
    await add_user(node, "mallory", "editor")
    async with browser(node) as mallory:
        await login(mallory, "mallory", PASSWORD)
        assert await logged_in(mallory)
        async with node.ctx.sessions() as session:
            old_id = await session.scalar(select(User.id).where(User.username == "mallory"))
        removed = await post_form(admin, "/admin/users", f"/admin/users/{old_id}/remove")
        assert removed.status_code == 303
        assert not await logged_in(mallory)
        added = await post_form(
            admin, "/admin/users", "/admin/users/add", username="newbie", role="admin"
        )
        assert "newbie" in added.text
        async with node.ctx.sessions() as session:
            new_id = await session.scalar(select(User.id).where(User.username == "newbie"))
        assert new_id != old_id, "the removed user's id was handed to a new account"
        assert not await logged_in(mallory), "the removed user's cookie logs in as newbie"


async def test_copied_cookie_is_dead_after_logout(node: Node, admin: httpx.AsyncClient) -> None:
    async with copy_of(node, admin) as thief:
        assert await logged_in(thief)
        out = await post_form(admin, "/admin", "/admin/logout")
        assert out.status_code == 303
        assert not await logged_in(admin)
        assert not await logged_in(thief), "a copy of the cookie outlives the logout"


async def test_turning_two_factor_on_or_off_ends_the_other_sessions(
    node: Node, admin: httpx.AsyncClient
) -> None:
    async with browser(node) as laptop:
        await login(laptop, "ada", PASSWORD)
        assert await logged_in(laptop)
        totp = await enable_totp(admin)
        assert await logged_in(admin)
        assert not await logged_in(laptop), "another session survives enabling 2FA"
        await login(laptop, "ada", PASSWORD)
        async with node.ctx.sessions() as session:
            last = await session.scalar(select(User.totp_last_step).where(User.username == "ada"))
        assert last is not None
        done = await post_form(laptop, "/admin/login/totp", code=totp.generate_otp(last + 1))
        assert done.status_code == 303 and await logged_in(laptop)
        off = await post_totp(admin, action="disable", code=totp.generate_otp(last + 2))
        assert off.status_code == 303
        assert await logged_in(admin)
        assert not await logged_in(laptop), "another session survives disabling 2FA"


async def test_enabling_two_factor_asks_for_the_password_and_keeps_the_secret_off_the_cookie(
    node: Node, admin: httpx.AsyncClient
) -> None:
    page = await admin.get("/admin/totp")
    match = SECRET_RE.search(page.text)
    assert match and 'name="password"' in page.text
    cookie = admin.cookies["tocsin_session"]
    payload = base64.b64decode(cookie.split(".")[0] + "==")
    assert match.group(1) not in json.dumps(json.loads(payload)), "TOTP secret in the cookie"
    code = pyotp.TOTP(match.group(1)).now()
    refused = await post_totp(admin, action="enable", code=code, password="wrong one!")
    assert refused.status_code == 400 and "password" in refused.text.lower()
    async with node.ctx.sessions() as session:
        user = await session.scalar(select(User).where(User.username == "ada"))
    assert user is not None and user.totp_secret is None


async def post_totp(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """POST the two-factor settings form (its ``action`` field clashes with post_form's)."""
    page = await client.get("/admin/totp")
    return await client.post("/admin/totp", data={"csrf_token": csrf_of(page.text), **fields})


async def code_attempts(client: httpx.AsyncClient, tries: int) -> list[int]:
    """Log in with the password, then send wrong codes: the statuses of the codes."""
    statuses: list[int] = []
    await login(client, "ada", PASSWORD)
    for _ in range(tries):
        response = await post_form(client, "/admin/login/totp", code="000000")
        statuses.append(response.status_code)
    return statuses


async def test_alternating_passwords_and_codes_cannot_brute_force_totp(
    node: Node, admin: httpx.AsyncClient
) -> None:
    await enable_totp(admin)
    checked = 0
    async with browser(node) as attacker:
        for _ in range(10):
            statuses = await code_attempts(attacker, 4)
            checked += statuses.count(401)
    assert checked <= 6, f"{checked} wrong codes were checked in a few seconds"


class ThrottleClock:
    """The login throttle's ``time``: its growing delays pass when the test says."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def monotonic(self) -> float:
        return self.now


async def test_five_wrong_codes_drop_the_pending_login(
    node: Node, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await enable_totp(admin)
    clock = ThrottleClock()
    monkeypatch.setattr(throttle, "time", clock)
    refused = 0
    async with browser(node) as attacker:
        await login(attacker, "ada", PASSWORD)
        for attempt in range(5):
            while (
                response := await post_form(attacker, "/admin/login/totp", code="000000")
            ).status_code == 429:
                refused += 1
                clock.now += 0.5  # the account's growing delay between codes
            assert response.status_code == 401, f"attempt {attempt}: {response.status_code}"
        again = await attacker.get("/admin/login/totp")
    assert again.status_code == 303 and again.headers["location"] == "/admin/login"
    assert refused > 0, "no delay between the wrong codes"
