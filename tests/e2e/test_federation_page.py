"""The public ``/federation`` page lists the networks a node follows (names,
regions, summaries, handles, links), follows each new follow at once, and
answers 404 when an admin turns it off."""

from __future__ import annotations

import html

from tests.e2e.conftest import NodeFactory
from tests.support.admin import post_form
from tests.support.admin_federation import logged_in
from tests.support.following import describe, follow_and_wait
from tests.support.nodes import Node

PRIVACY = "/admin/federation/privacy"


async def page_of(node: Node) -> tuple[int, str]:
    response = await node.client.get("/federation", headers={"Accept": "text/html"})
    return response.status_code, html.unescape(response.text)


async def test_the_federation_page_lists_followed_networks_and_can_be_turned_off(
    start_node: NodeFactory,
) -> None:
    a, b, c = await start_node("haringey"), await start_node("hackney"), await start_node("camden")
    await describe(b, "Hackney Renters", "Hackney, London", "Renters organising in Hackney.")
    await describe(c, "Camden Tenants", "Camden", "Tenants of Camden.")
    status, text = await page_of(a)
    assert status == 200 and "follows no other networks yet" in text
    await follow_and_wait(a, b)
    status, text = await page_of(a)  # the cached page is renewed by the follow
    assert status == 200
    assert "Hackney Renters" in text and "Hackney, London" in text
    assert "Renters organising in Hackney." in text
    assert f"@hackney@{b.settings.host}" in text and f'href="{b.base_url}/"' in text
    assert "Camden Tenants" not in text
    await follow_and_wait(a, c)
    status, text = await page_of(a)
    assert "Camden Tenants" in text and "Hackney Renters" in text

    async with logged_in(a) as admin:
        settings = await admin.get("/admin/federation")
        assert 'name="federation_page" checked' in settings.text  # on by default
        saved = await post_form(admin, "/admin/federation", PRIVACY, discoverable="on")
        assert saved.status_code == 303
        status, text = await page_of(a)
        assert status == 404 and "Hackney Renters" not in text
        await post_form(admin, "/admin/federation", PRIVACY, federation_page="on")
    status, text = await page_of(a)
    assert status == 200 and "Camden Tenants" in text
