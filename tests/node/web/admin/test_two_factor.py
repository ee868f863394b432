"""Two-factor setup: a QR code drawn on the server, ten recovery codes shown once
and kept hashed, each usable once at the login step, regenerating replaces them."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pyotp
from sqlalchemy import select

from node.models import AuditEntry, RecoveryCode, User
from tests.support.admin import csrf_of, login, post_form
from tests.support.nodes import Node

PASSWORD = "a much better passphrase"


def client_of(node: Node) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url)


async def _first_login(node: Node, client: httpx.AsyncClient) -> None:
    assert node.admin_password
    await login(client, "admin", node.admin_password)
    changed = await post_form(
        client, "/admin/password", current=node.admin_password, new=PASSWORD, confirm=PASSWORD
    )
    assert changed.status_code == 303


def codes_of(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", html)


async def _enable(node: Node) -> tuple[pyotp.TOTP, list[str]]:
    """Two-factor on for ``admin``: its TOTP and the recovery codes shown."""
    async with client_of(node) as client:
        await _first_login(node, client)
        page = await client.get("/admin/totp")
        secret = page.text.split('<code class="secret">')[1].split("<")[0]
        totp = pyotp.TOTP(secret)
        data = {"action": "enable", "code": totp.now(), "password": PASSWORD}
        enabled = await client.post("/admin/totp", data={"csrf_token": csrf_of(page.text), **data})
        assert enabled.status_code == 200
        codes = codes_of(enabled.text)
        assert (await client.get("/admin/totp")).text.count("<li><code>") == 0  # shown once
    return totp, codes


async def _totp_form(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """POST the two-factor page (its ``action`` field clashes with ``post_form``'s)."""
    page = await client.get("/admin/totp")
    return await client.post("/admin/totp", data={"csrf_token": csrf_of(page.text), **fields})


async def _password_step(node: Node, client: httpx.AsyncClient) -> None:
    response = await login(client, "admin", PASSWORD)
    assert response.headers["location"] == "/admin/login/totp"


async def test_setup_page_shows_a_qr_code_of_the_secret_as_inline_svg(node: Node) -> None:
    async with client_of(node) as client:
        await _first_login(node, client)
        page = await client.get("/admin/totp")
    svg = re.search(r"<svg[^>]*class=\"qr\"[^>]*>.*?</svg>", page.text, re.S)
    assert svg, "no inline QR code"
    assert "style=" not in svg.group(0) and "<image" not in svg.group(0)
    secret = page.text.split('<code class="secret">')[1].split("<")[0]
    assert f"secret={secret}" in unescape(page.text)  # the otpauth:// link beside it
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_enabling_gives_ten_distinct_codes_stored_only_hashed(node: Node) -> None:
    _, codes = await _enable(node)
    assert len(codes) == 10 and len(set(codes)) == 10
    async with node.ctx.sessions() as session:
        rows = (await session.scalars(select(RecoveryCode))).all()
    assert len(rows) == 10
    stored = {row.digest for row in rows} | {row.salt for row in rows}
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
        assert all(code.replace("-", "") not in value for value in stored)


async def test_a_recovery_code_logs_in_once_and_says_how_many_are_left(node: Node) -> None:
    _, codes = await _enable(node)
    async with client_of(node) as client:
        await _password_step(node, client)
        used = await post_form(client, "/admin/login/totp", code=codes[3].upper())
        assert used.status_code == 200
        assert "You have <strong>9</strong> recovery codes left" in used.text
        assert (await client.get("/admin")).status_code == 200
    async with client_of(node) as client:
        await _password_step(node, client)
        again = await post_form(client, "/admin/login/totp", code=codes[3])
        assert again.status_code == 401
        assert (await client.get("/admin")).status_code == 303
    async with node.ctx.sessions() as session:
        targets = (
            await session.scalars(select(AuditEntry.target).where(AuditEntry.action == "login"))
        ).all()
    assert "recovery code" in targets


async def test_new_codes_invalidate_the_old_ones(node: Node) -> None:
    _, old = await _enable(node)
    async with client_of(node) as client:
        await _password_step(node, client)
        assert (await post_form(client, "/admin/login/totp", code=old[0])).status_code == 200
        wrong = await _totp_form(client, action="recovery", password="not it at all")
        assert wrong.status_code == 400
        page = await client.get("/admin/totp")
        assert "<strong>9</strong> unused recovery codes" in page.text
        renewed = await _totp_form(client, action="recovery", password=PASSWORD)
        new = codes_of(renewed.text)
    assert len(new) == 10 and not set(new) & set(old)
    async with client_of(node) as client:
        await _password_step(node, client)
        assert (await post_form(client, "/admin/login/totp", code=old[1])).status_code == 401
        assert (await post_form(client, "/admin/login/totp", code=new[0])).status_code == 200


async def test_turning_two_factor_off_drops_the_recovery_codes(node: Node) -> None:
    totp, codes = await _enable(node)
    async with client_of(node) as client:
        await _password_step(node, client)
        assert (await post_form(client, "/admin/login/totp", code=codes[0])).status_code == 200
        async with node.ctx.sessions() as session:
            user = await session.scalar(select(User).where(User.username == "admin"))
            assert user is not None
            step = user.totp_last_step
        off = await _totp_form(client, action="disable", code=totp.generate_otp(step + 1))
        assert off.status_code == 303
    async with node.ctx.sessions() as session:
        assert (await session.scalars(select(RecoveryCode))).all() == []
