"""A new node's dashboard lists the first steps, each ticked once done; no page
names the network by its bare username."""

from __future__ import annotations

import re
from html import unescape

import httpx

from node.identity import group_actor
from node.models import Following, RemoteActor
from tests.support.admin import EVENT_FORM, logged_in, post_form
from tests.support.nodes import Node


def steps_of(html: str) -> dict[str, bool]:
    """Each checklist item's label, and whether it is ticked."""
    if '<ul class="checklist">' not in html:
        return {}
    checklist = html.split('<ul class="checklist">')[1].split("</ul>")[0]
    item = r'<li( class="is-done")?>.*?<a href="[^"]+">([^<]+)</a></li>'
    items = re.findall(item, checklist, re.S)
    return {unescape(label): bool(done) for done, label in items}


async def _follow_someone(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        remote = RemoteActor(
            uri="https://leeds.example/actors/network",
            domain="leeds.example",
            type="Group",
            preferred_username="network",
            inbox="https://leeds.example/actors/network/inbox",
            raw={},
        )
        session.add(remote)
        await session.flush()
        session.add(
            Following(
                local_actor_id=(await group_actor(session)).id,
                remote_actor_id=remote.id,
                follow_uri="https://n.example/follows/1",
                state="pending",
            )
        )


async def _dashboard(admin: httpx.AsyncClient) -> str:
    page = await admin.get("/admin")
    assert page.status_code == 200
    return page.text


async def test_each_first_step_is_ticked_once_done_then_the_list_goes(node: Node) -> None:
    async with logged_in(node, "boss", "admin") as admin:
        fresh = await _dashboard(admin)
        assert steps_of(fresh) == {
            "Set the network's name and description": False,
            "Follow a first network": False,
            "Post a first event": False,
        }
        assert 'Your network <a href="/admin/profile">(set its name)</a>' in fresh
        named = await post_form(
            admin, "/admin/profile", display_name="Haringey Solidarity", summary="Mutual aid."
        )
        assert named.status_code == 303
        after_name = await _dashboard(admin)
        assert steps_of(after_name)["Set the network's name and description"] is True
        assert "Haringey Solidarity" in after_name and "set its name" not in after_name
        await _follow_someone(node)
        assert steps_of(await _dashboard(admin))["Follow a first network"] is True
        posted = await post_form(admin, "/admin/events/new", **EVENT_FORM)
        assert posted.status_code == 303
        done = await _dashboard(admin)
    assert "First steps" not in done and steps_of(done) == {}


async def test_a_name_without_a_description_is_not_yet_done(node: Node) -> None:
    async with logged_in(node, "boss", "admin") as admin:
        await post_form(admin, "/admin/profile", display_name="Leeds", summary="")
        assert steps_of(await _dashboard(admin))["Set the network's name and description"] is False


async def test_public_pages_show_the_handle_until_the_network_has_a_name(node: Node) -> None:
    home = (await node.client.get("/")).text
    handle = f"@network@{node.settings.host}"
    assert re.search(rf"<h1[^>]*>{re.escape(handle)}</h1>", home)
    assert f'class="brand" dir="auto">{handle}</a>' in home
    assert ">network<" not in home
