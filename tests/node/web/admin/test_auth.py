"""Logging in to the admin UI: one-time password, password change, throttling,
two-factor codes, CSRF, and sessions that end when the password changes."""

from __future__ import annotations

import httpx
import pyotp
import pytest
from sqlalchemy import select

from node.models import AuditEntry, User
from node.users import create_user
from tests.support.admin import csrf_of, login, post_form
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

NEW_PASSWORD = "a much better passphrase"


def client_of(node: Node) -> httpx.AsyncClient:
    """A fresh browser: its own cookie jar."""
    return httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url)


async def first_login(node: Node, client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert node.admin_password
    await login(client, "admin", node.admin_password)
    await post_form(
        client,
        "/admin/password",
        current=node.admin_password,
        new=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    return client


async def test_admin_pages_send_visitors_to_the_login_form(node: Node) -> None:
    response = await node.client.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin"
    assert "set-cookie" not in (await node.client.get("/")).headers  # no cookie for the public


async def test_first_login_with_the_one_time_password_requires_a_new_password(node: Node) -> None:
    async with client_of(node) as client:
        assert node.admin_password
        response = await login(client, "admin", node.admin_password)
        assert response.status_code == 303 and response.headers["location"] == "/admin"
        assert (await client.get("/admin")).headers["location"] == "/admin/password"
        short = await post_form(
            client, "/admin/password", current=node.admin_password, new="short", confirm="short"
        )
        assert short.status_code == 400 and "at least 10 characters" in short.text
        changed = await post_form(
            client,
            "/admin/password",
            current=node.admin_password,
            new=NEW_PASSWORD,
            confirm=NEW_PASSWORD,
        )
        assert changed.status_code == 303
        dashboard = await client.get("/admin")
        assert dashboard.status_code == 200 and "Dashboard" in dashboard.text
        assert dashboard.headers["cache-control"] == "no-store"
    async with node.ctx.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions == ["login", "password.change"]


async def test_session_cookie_is_httponly_and_samesite_lax(node: Node) -> None:
    async with client_of(node) as client:
        response = await client.get("/admin/login")
        cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie


async def test_wrong_password_is_refused_and_repeated_failures_are_throttled(node: Node) -> None:
    async with client_of(node) as client:
        for _ in range(5):
            response = await login(client, "admin", "wrong password!")
            assert response.status_code == 401
            assert "do not match" in response.text
        assert node.admin_password
        throttled = await login(client, "admin", node.admin_password)
    assert throttled.status_code == 429
    assert "Too many failed attempts" in throttled.text


async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(node: Node) -> None:
    async with client_of(node) as client:
        response = await login(client, "nobody", "whatever it is")
    assert response.status_code == 401 and "do not match" in response.text


async def test_post_without_a_csrf_token_is_refused_with_403(node: Node) -> None:
    async with client_of(node) as client:
        await first_login(node, client)
        forged = await client.post(
            "/admin/password", data={"current": NEW_PASSWORD, "new": "x" * 12, "confirm": "x" * 12}
        )
        assert forged.status_code == 403
        wrong = await client.post("/admin/password", data={"csrf_token": "forged", "current": "x"})
        assert wrong.status_code == 403
    async with client_of(node) as stranger:
        login_forged = await stranger.post(
            "/admin/login", data={"username": "admin", "password": NEW_PASSWORD}
        )
        assert login_forged.status_code == 403


async def test_changing_the_password_ends_other_sessions(node: Node) -> None:
    async with client_of(node) as first, client_of(node) as second:
        await first_login(node, first)
        await login(second, "admin", NEW_PASSWORD)
        assert (await second.get("/admin")).status_code == 200
        newer = "an even better passphrase"
        await post_form(first, "/admin/password", current=NEW_PASSWORD, new=newer, confirm=newer)
        assert (await first.get("/admin")).status_code == 200
        assert (await second.get("/admin")).status_code == 303


async def test_two_factor_login_needs_a_fresh_code(node: Node) -> None:
    async with client_of(node) as client:
        await first_login(node, client)
        page = await client.get("/admin/totp")
        secret = page.text.split('<code class="secret">')[1].split("<")[0]
        totp = pyotp.TOTP(secret)
        enabled = await client.post(
            "/admin/totp",
            data={
                "csrf_token": csrf_of(page.text),
                "action": "enable",
                "code": totp.now(),
                "password": NEW_PASSWORD,
            },
        )
        assert enabled.status_code == 200  # the page showing the recovery codes, once
    async with client_of(node) as client:
        response = await login(client, "admin", NEW_PASSWORD)
        assert response.headers["location"] == "/admin/login/totp"
        assert (await client.get("/admin")).status_code == 303  # not logged in yet
        bad = await post_form(client, "/admin/login/totp", code="000000")
        assert bad.status_code == 401
        # the code used to enable 2FA cannot be used again (replay)
        async with node.ctx.sessions() as session:
            user = await session.scalar(select(User).where(User.username == "admin"))
            assert user is not None and user.totp_secret == secret
            last = user.totp_last_step
        replay = await post_form(client, "/admin/login/totp", code=totp.generate_otp(last))
        assert replay.status_code == 401
        fresh = await post_form(client, "/admin/login/totp", code=totp.generate_otp(last + 1))
        assert fresh.status_code == 303
        assert (await client.get("/admin")).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin"])
async def test_login_never_redirects_off_site(node: Node, target: str) -> None:
    async with client_of(node) as client:
        await first_login(node, client)
    async with client_of(node) as client:
        page = await client.get("/admin/login")
        response = await client.post(
            "/admin/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "admin",
                "password": NEW_PASSWORD,
                "next": target,
            },
        )
    assert response.headers["location"] == "/admin"


async def test_editor_can_log_in_and_reach_the_dashboard(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(
            session, "rosa", "editor", "editor password 1", must_change=False, hasher=CHEAP_HASHER
        )
    async with client_of(node) as client:
        await login(client, "rosa", "editor password 1")
        assert (await client.get("/admin")).status_code == 200
