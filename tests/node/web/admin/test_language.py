"""Each user's admin language: chosen on /admin/language (or the profile page), kept
across logins, refused when unknown; without a choice, the node's (TOCSIN_LANGUAGE);
the login pages follow the browser."""

from __future__ import annotations

from html import unescape
from pathlib import Path

import httpx
from sqlalchemy import select

from node.models import User
from tests.support.admin import EVENT_FORM, field_error, login, post_form
from tests.support.admin_federation import PASSWORD, logged_in
from tests.support.nodes import Node, asgi_node, make_settings


async def language_of(node: Node, username: str) -> str | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(User.language).where(User.username == username))


async def choose(
    client: httpx.AsyncClient, language: str, page: str = "/admin/language"
) -> httpx.Response:
    return await post_form(client, page, "/admin/language", language=language)


async def test_a_user_who_chose_welsh_sees_the_admin_in_welsh_and_others_in_english(
    node: Node,
) -> None:
    async with logged_in(node, "gwen") as gwen, logged_in(node, "sam", "editor") as sam:
        chosen = await choose(gwen, "cy")
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/admin/language?done=saved"
        welsh = (await gwen.get("/admin")).text
        assert "<h1>Dangosfwrdd</h1>" in welsh
        assert "Dashboard" not in welsh
        assert ">Allgofnodi gwen<" in welsh
        english = (await sam.get("/admin")).text
        assert "<h1>Dashboard</h1>" in english
        assert "Dangosfwrdd" not in english
        assert "Cadwyd yr iaith." in (await gwen.get("/admin/language?done=saved")).text
    assert await language_of(node, "gwen") == "cy"
    assert await language_of(node, "sam") is None


async def test_the_choice_survives_logging_out_and_in_again(node: Node) -> None:
    async with logged_in(node, "gwen") as gwen:
        assert (await choose(gwen, "cy")).status_code == 303
        await post_form(gwen, "/admin", "/admin/logout")
        assert "/admin/login" in (await gwen.get("/admin")).headers["location"]
    transport = node.client._transport
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as browser:
        assert (await login(browser, "gwen", PASSWORD)).status_code == 303
        page = (await browser.get("/admin/events")).text
        assert "<h1>Digwyddiadau</h1>" in page
        assert "dim digwyddiadau i ddod." in page


async def test_an_unknown_language_is_refused_and_changes_nothing(node: Node) -> None:
    async with logged_in(node, "gwen") as gwen:
        assert (await choose(gwen, "cy")).status_code == 303
        refused = await choose(gwen, "fr")
        assert refused.status_code == 400
        assert "Dewiswch un o'r ieithoedd yn y rhestr." in unescape(refused.text)  # still in Welsh
        assert 'aria-invalid="true"' in refused.text
    assert await language_of(node, "gwen") == "cy"
    async with logged_in(node, "sam", "editor") as sam:
        refused = await choose(sam, "x" * 300)
        assert refused.status_code == 400
        assert "Choose one of the languages in the list." in refused.text


async def test_the_node_default_forgets_the_choice(node: Node) -> None:
    async with logged_in(node, "gwen") as gwen:
        await choose(gwen, "es")
        assert await language_of(node, "gwen") == "es"
        assert (await choose(gwen, "")).status_code == 303
        assert "<h1>Dashboard</h1>" in (await gwen.get("/admin")).text
    assert await language_of(node, "gwen") is None


async def test_a_user_with_no_choice_sees_the_nodes_language_and_a_choice_overrides_it(
    tmp_path: Path, migrated_database_url: str
) -> None:
    settings = make_settings(
        tmp_path, migrated_database_url, base_url="http://127.0.0.1:8000", TOCSIN_LANGUAGE="cy"
    )
    async with asgi_node(settings) as welsh_node, logged_in(welsh_node, "gwen") as gwen:
        assert await language_of(welsh_node, "gwen") is None
        page = (await gwen.get("/admin")).text
        assert '<html lang="cy"' in page
        assert "<h1>Dangosfwrdd</h1>" in page
        assert "Dashboard" not in page
        assert (await choose(gwen, "en")).status_code == 303
        assert "<h1>Dashboard</h1>" in (await gwen.get("/admin")).text


async def test_admins_choose_on_the_profile_page_too_and_come_back_to_it(node: Node) -> None:
    async with logged_in(node, "gwen") as gwen:
        profile = (await gwen.get("/admin/profile")).text
        assert '<select id="language" name="language"' in profile
        assert '<option value="cy" lang="cy">Cymraeg</option>' in profile
        saved = await choose(gwen, "cy", page="/admin/profile")
        assert saved.status_code == 303
        back = await post_form(
            gwen, "/admin/profile", "/admin/language", language="cy", back="profile"
        )
        assert back.headers["location"] == "/admin/profile?done=saved"
        profile = (await gwen.get("/admin/profile")).text
        assert "Proffil y nod" in profile
        assert '<option value="cy" lang="cy" selected>Cymraeg</option>' in profile


async def test_form_errors_and_the_audit_log_speak_the_users_language(node: Node) -> None:
    async with logged_in(node, "gwen") as gwen:
        await choose(gwen, "cy")
        refused = await post_form(gwen, "/admin/events/new", **{**EVENT_FORM, "title": " "})
        assert refused.status_code == 400
        assert field_error(refused.text, "title") == "Teitl: yn ofynnol."
        log = (await gwen.get("/admin/audit")).text
        assert "wedi dewis iaith weinyddu Cymraeg" in log
        assert "wedi mewngofnodi" in log


async def test_the_login_page_follows_the_browsers_languages(node: Node) -> None:
    transport = node.client._transport
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as browser:
        welsh = await browser.get("/admin/login", headers={"Accept-Language": "fr, cy;q=0.8"})
        assert "<h1>Mewngofnodi</h1>" in welsh.text
        english = await browser.get("/admin/login", headers={"Accept-Language": "fr, de"})
        assert "<h1>Log in</h1>" in english.text
        browser.headers["Accept-Language"] = "cy-GB"
        wrong = await post_form(browser, "/admin/login", username="nobody", password="no")
        assert wrong.status_code == 401
        assert "Nid yw'r enw defnyddiwr a'r cyfrinair yn cyfateb." in unescape(wrong.text)
