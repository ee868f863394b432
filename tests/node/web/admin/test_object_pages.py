"""What every admin object page shares (node/web/admin/object_pages.py): unknown ids
get a 404 page, a logged-out browser goes to the login form, a POST without the CSRF
token is refused, and admins use the same pages as editors."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from node.content.models import Callout, Event
from tests.support.admin import (
    CALLOUT_FORM,
    EVENT_FORM,
    audit_log,
    csrf_of,
    logged_in,
    one,
    post_form,
)
from tests.support.nodes import Node


async def test_unknown_ids_get_a_404_page(editor: httpx.AsyncClient) -> None:
    token = csrf_of((await editor.get("/admin/events/new")).text)
    for method, path in [
        ("GET", "/admin/events/999/edit"),
        ("POST", "/admin/events/999/edit"),
        ("GET", "/admin/events/999/cancel"),
        ("POST", "/admin/events/999/delete"),
        ("GET", "/admin/events/nope/edit"),
        ("GET", "/admin/events/99999999999999999999999/edit"),
        ("GET", "/admin/callouts/999/edit"),
        ("POST", "/admin/callouts/999/close"),
        ("POST", "/admin/callouts/999/delete"),
        ("GET", "/admin/callouts/999/responses"),
    ]:
        data = {"csrf_token": token, **EVENT_FORM} if method == "POST" else None
        response = await editor.request(method, path, data=data)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text and "/admin/" in response.text


async def test_logged_out_post_goes_to_the_login_form(node: Node) -> None:
    response = await node.client.post("/admin/events/new", data=EVENT_FORM)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/events/new"
    assert (await node.client.get("/admin/callouts")).status_code == 303
    assert await one(node, select(func.count()).select_from(Event)) == 0


async def test_post_without_csrf_token_is_refused(node: Node, editor: httpx.AsyncClient) -> None:
    assert (await editor.post("/admin/events/new", data=EVENT_FORM)).status_code == 403
    forged = {**CALLOUT_FORM, "csrf_token": "forged"}
    assert (await editor.post("/admin/callouts/new", data=forged)).status_code == 403
    assert await one(node, select(func.count()).select_from(Event)) == 0
    assert await one(node, select(func.count()).select_from(Callout)) == 0


async def test_admins_use_the_same_pages(node: Node) -> None:
    async with logged_in(node, "ada", "admin") as admin:
        response = await post_form(admin, "/admin/callouts/new", **CALLOUT_FORM)
        assert response.status_code == 303
        assert (await admin.get("/admin/callouts")).status_code == 200
    assert [(u, a) for u, a, _ in await audit_log(node)] == [("ada", "callout.create")]
