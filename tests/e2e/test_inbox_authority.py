"""Who may do what through a node's inbox: blocked servers are refused before
any fetch, only the followed actor answers a Follow, only an actor updates or
deletes itself; and what is accepted but has no effect (docs/interop.md, "Origin rules"
and "Follows"). Helpers: ``tests.support.inbox``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from starlette.responses import JSONResponse

from node.models import InboundActivity, RemoteActor
from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import FakeServer
from tests.support.inbox import (
    NOTHING,
    SETTLE,
    activity,
    become_follower,
    block,
    count_fetches,
    following_states,
    inbox,
    pending_follow_of,
    post_raw,
    refusal,
    settled_state,
    sign,
    traces,
)

# -- blocked servers ------------------------------------------------------------------------

BLOCKED_NAMES: dict[str, Callable[[FakeServer], str]] = {
    "domain-with-port": lambda server: server.authority,
    "host-on-every-port": lambda server: server.host,  # "127.0.0.1": the admin names the server
}


@pytest.mark.parametrize("blocked", BLOCKED_NAMES.values(), ids=BLOCKED_NAMES.keys())
async def test_post_from_blocked_server_is_refused_with_403_before_any_fetch(
    start_node: NodeFactory, fediverse: FakeServer, blocked: Callable[[FakeServer], str]
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    fetches = count_fetches(fediverse, alice)
    await block(node, blocked(fediverse))
    response = await alice.post(inbox(node), alice.follow(node.actor_id))
    assert refusal(response, 403) == "blocked"
    assert fetches == []
    assert await traces(node) == NOTHING


# -- accepted, but without effect -----------------------------------------------------------


async def test_unknown_activity_type_is_recorded_and_ignored(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    like = activity(alice, "Like", f"{node.base_url}/events/1")
    response = await alice.post(inbox(node), like)
    assert response.status_code == 202
    assert await settled_state(node, like["id"]) == "ignored"
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}
    assert not fediverse.received


async def test_follow_of_someone_else_is_recorded_but_adds_no_follower(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(f"{node.base_url}/actors/somebody-else")
    response = await alice.post(inbox(node), follow)
    assert response.status_code == 202
    assert await settled_state(node, follow["id"]) == "done"
    await asyncio.sleep(SETTLE)
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}
    assert not fediverse.received  # no Accept


async def test_replayed_follow_is_recorded_once_and_accepted_once(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = sign(alice, inbox(node), body)
    assert (await post_raw(inbox(node), body, headers)).status_code == 202
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    replay = await post_raw(inbox(node), body, headers)  # the very same bytes and signature
    assert replay.status_code == 202
    await asyncio.sleep(SETTLE)
    assert [r.activity["type"] for r in fediverse.received] == ["Accept"]
    assert await traces(node) == {
        **NOTHING,
        "inbound": 1,
        "followers": 1,
        "remote_actors": 1,
        "remote_keys": 1,
        "outbound": 1,
    }


async def test_accept_of_a_follow_never_sent_adds_no_following(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    invented = {
        "id": f"{node.base_url}/activities/never-sent",
        "type": "Follow",
        "actor": node.actor_id,
        "object": alice.id,
    }
    accept = activity(alice, "Accept", invented)
    assert (await alice.post(inbox(node), accept)).status_code == 202
    assert await settled_state(node, accept["id"]) == "done"
    assert await following_states(node) == []
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}


async def test_accept_of_our_follow_embedded_by_another_actor_is_refused_with_403(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    follow_id = await pending_follow_of(node, alice)
    ours = {"id": follow_id, "type": "Follow", "actor": node.actor_id, "object": alice.id}
    accept = activity(bob, "Accept", ours)
    response = await bob.post(inbox(node), accept)
    assert refusal(response, 403) == "only the followed actor may answer a Follow"
    assert await following_states(node) == ["pending"]
    async with node.ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundActivity)) == 0


async def test_accept_of_our_follow_by_bare_id_from_another_actor_changes_nothing(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    follow_id = await pending_follow_of(node, alice)
    forged = activity(bob, "Accept", follow_id)
    assert (await bob.post(inbox(node), forged)).status_code == 202
    await settled_state(node, forged["id"])
    assert await following_states(node) == ["pending"]
    # the control: the same Accept from alice herself is honoured
    genuine = activity(alice, "Accept", follow_id)
    assert (await alice.post(inbox(node), genuine)).status_code == 202
    await settled_state(node, genuine["id"])
    assert await following_states(node) == ["accepted"]


# -- actors deleting and updating themselves ------------------------------------------------


async def test_self_delete_of_unknown_gone_actor_is_answered_202_and_changes_nothing(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    ghost = fediverse.add_account("ghost")
    fediverse.override["/users/ghost"] = lambda: JSONResponse({"error": "gone"}, status_code=410)
    delete = activity(
        ghost, "Delete", ghost.id, to=["https://www.w3.org/ns/activitystreams#Public"]
    )
    response = await ghost.post(inbox(node), delete)
    assert response.status_code == 202
    assert await traces(node) == NOTHING


async def test_actor_update_from_itself_changes_the_cached_name(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await become_follower(node, fediverse, alice)
    update = activity(alice, "Update", {**alice.document(), "name": "Alice Renamed"})
    assert (await alice.post(inbox(node), update)).status_code == 202
    assert await settled_state(node, update["id"]) == "done"
    async with node.ctx.sessions() as session:
        name = await session.scalar(select(RemoteActor.name).where(RemoteActor.uri == alice.id))
    assert name == "Alice Renamed"


async def test_update_of_one_actor_sent_by_another_is_refused_with_403(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    await become_follower(node, fediverse, alice)
    hijack = activity(bob, "Update", {**alice.document(), "name": "Hijacked"})
    response = await bob.post(inbox(node), hijack)
    assert refusal(response, 403) == "an actor may only update itself"
    await asyncio.sleep(SETTLE)
    async with node.ctx.sessions() as session:
        name = await session.scalar(select(RemoteActor.name).where(RemoteActor.uri == alice.id))
        recorded = await session.scalars(select(InboundActivity.type))
        assert recorded.all() == ["Follow"]
    assert name == "Alice"


async def test_delete_of_actor_by_itself_removes_its_follower_row(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await become_follower(node, fediverse, alice)
    fediverse.override["/users/alice"] = lambda: JSONResponse({"error": "gone"}, status_code=410)
    delete = activity(alice, "Delete", alice.id)
    assert (await alice.post(inbox(node), delete)).status_code == 202  # verified: key cached
    assert await settled_state(node, delete["id"]) == "done"
    found = await traces(node)
    assert (found["followers"], found["remote_actors"], found["remote_keys"]) == (0, 0, 0)
