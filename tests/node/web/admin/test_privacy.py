"""Followers can be hidden: an admin switch makes the followers and following
collections answer with their size only (Mastodon's "hide your network"), and
``discoverable``/``indexable`` of the actor follow admin switches."""

from __future__ import annotations

from sqlalchemy import select

from node.identity import group_actor
from node.models import AuditEntry, Follower, RemoteActor
from node.web.activitypub import ACTOR_LAG
from tests.support.admin import post_form
from tests.support.admin_federation import logged_in
from tests.support.nodes import Node, eventually

AS2 = "application/activity+json"
FOLLOWER = "https://social.example/users/organiser"
PAGE = "/admin/federation"
ACTION = "/admin/federation/privacy"


async def _add_follower(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        remote = RemoteActor(
            uri=FOLLOWER,
            domain="social.example",
            type="Person",
            preferred_username="organiser",
            inbox=f"{FOLLOWER}/inbox",
            raw={},
        )
        session.add(remote)
        await session.flush()
        local = await group_actor(session)
        session.add(
            Follower(
                local_actor_id=local.id,
                remote_actor_id=remote.id,
                follow_uri=f"{FOLLOWER}#follow",
                follow_activity={},
                state="accepted",
            )
        )


async def _get(node: Node, path: str) -> tuple[int, str, dict[str, object]]:
    response = await node.client.get(path, headers={"Accept": AS2})
    return response.status_code, response.text, response.json()


async def test_hidden_network_shows_only_the_number_of_followers(node: Node) -> None:
    await _add_follower(node)
    _, text, _ = await _get(node, "/actors/network/followers?page=1")
    assert FOLLOWER in text  # visible until hidden
    async with logged_in(node) as admin:
        form = await admin.get(PAGE)
        assert 'action="/admin/federation/privacy"' in form.text
        saved = await post_form(admin, PAGE, ACTION, hide_network="on")
        assert saved.status_code == 303
    for kind in ("followers", "following"):
        status, text, body = await _get(node, f"/actors/network/{kind}")
        assert status == 200
        assert body["totalItems"] == (1 if kind == "followers" else 0)
        assert "first" not in body and "orderedItems" not in body
        status, text, _ = await _get(node, f"/actors/network/{kind}?page=1")
        assert status == 403 and FOLLOWER not in text
        assert "hidden" in text
    async with node.ctx.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert any("network" in action for action in actions)


async def test_actor_discoverable_and_indexable_follow_the_admin_switches(node: Node) -> None:
    _, _, actor = await _get(node, "/actors/network")
    assert actor["discoverable"] is True and actor["indexable"] is True  # today's defaults
    async with logged_in(node) as admin:
        saved = await post_form(admin, PAGE, ACTION)  # every box unticked
        assert saved.status_code == 303

    async def renewed() -> bool:  # the kept document may lag an edit by ACTOR_LAG, no more
        _, _, actor = await _get(node, "/actors/network")
        return actor["discoverable"] is False and actor["indexable"] is False

    await eventually(renewed, timeout=ACTOR_LAG + 2)


async def test_privacy_switches_refuse_a_forged_form(node: Node) -> None:
    async with logged_in(node) as admin:
        forged = await admin.post(ACTION, data={"csrf_token": "forged", "hide_network": "on"})
    assert forged.status_code in (400, 403)
    _, text, _ = await _get(node, "/actors/network/followers?page=1")
    assert '"orderedItems"' in text
