"""A fediverse account (a Mastodon stand-in signing with an independent
library) follows a node over real HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from node.models import Follower, InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import FakeServer
from tests.support.nodes import Node

AS2 = "application/activity+json"


async def followers_of(node: Node) -> list[str]:
    collection = (
        await node.client.get(f"{node.actor_id}/followers?page=1", headers={"Accept": AS2})
    ).json()
    return list(collection["orderedItems"])


async def test_follow_from_mastodon_account_is_accepted_with_the_follow_embedded(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    response = await alice.post(f"{node.actor_id}/inbox", follow)
    assert response.status_code == 202
    accept = await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    assert accept.verified, "the Accept's signature did not verify with httpsig"
    assert accept.path == "/users/alice/inbox"
    assert accept.signer_key_id == f"{node.actor_id}#main-key"
    assert accept.activity["actor"] == node.actor_id
    assert accept.activity["object"] == {
        "id": follow["id"],
        "type": "Follow",
        "actor": alice.id,
        "object": node.actor_id,
    }
    assert await followers_of(node) == [alice.id]


async def test_repeated_follow_is_accepted_again(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await alice.post(f"{node.actor_id}/inbox", alice.follow(node.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    second = alice.follow(node.actor_id)
    assert (await alice.post(f"{node.base_url}/inbox", second)).status_code == 202
    await fediverse.wait_for(
        lambda r: r.activity["type"] == "Accept" and r.activity["object"]["id"] == second["id"]
    )
    assert await followers_of(node) == [alice.id]


async def test_undo_follow_removes_the_follower(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    await alice.post(f"{node.actor_id}/inbox", follow)
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{follow['id']}#undo",
        "type": "Undo",
        "actor": alice.id,
        "object": {k: follow[k] for k in ("id", "type", "actor", "object")},
    }
    assert (await alice.post(f"{node.actor_id}/inbox", undo)).status_code == 202

    async def no_followers() -> bool:
        return await followers_of(node) == []

    await eventually(no_followers)


async def test_replayed_follow_has_no_second_effect(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    await alice.post(f"{node.actor_id}/inbox", follow)
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    assert (await alice.post(f"{node.actor_id}/inbox", follow)).status_code == 202
    async with node.ctx.sessions() as session:
        assert await session.scalar(select(func.count(InboundActivity.id))) == 1
        assert await session.scalar(select(func.count(Follower.id))) == 1
