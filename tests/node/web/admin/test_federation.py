"""The admin federation pages as a whole (node/web/admin/federation.py): only admins
may use them, every form needs its CSRF token, visitors are sent to the login form.
"""

from __future__ import annotations

from node.models import (
    DomainAllow,
    DomainBlock,
)
from tests.support.admin import csrf_of
from tests.support.admin_federation import (
    FEDERATION_PAGES,
    FEDERATION_POSTS,
    audit_actions,
    count,
    get_setting_value,
    logged_in,
)
from tests.support.nodes import Node

# -- who may use these pages --------------------------------------------------------------


async def test_editors_get_403_on_every_federation_page(node: Node) -> None:
    async with logged_in(node, "rosa", "editor") as editor:
        token = csrf_of((await editor.get("/admin")).text)
        for page in FEDERATION_PAGES:
            assert (await editor.get(page)).status_code == 403, page
        for action in FEDERATION_POSTS:
            response = await editor.post(action, data={"csrf_token": token, "domain": "x.example"})
            assert response.status_code == 403, action
    assert await count(node, DomainBlock) == 0 and await audit_actions(node) == []


async def test_posts_without_a_csrf_token_are_refused(node: Node) -> None:
    async with logged_in(node) as admin:
        for action in FEDERATION_POSTS:
            response = await admin.post(action, data={"domain": "x.example", "mode": "on"})
            assert response.status_code == 403, action
    assert await count(node, DomainBlock) == 0 and await count(node, DomainAllow) == 0
    assert await get_setting_value(node, "allowlist_mode") is False


async def test_visitors_are_sent_to_the_login_form(node: Node) -> None:
    response = await node.client.get("/admin/federation/blocks")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
