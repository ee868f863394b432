"""What real nodes send over HTTP to a fediverse account (which verifies their
signatures with httpsig) for the activities no other test watches arrive: the
Ignore answering a Join, and the Undo taking a share back."""

from __future__ import annotations

from node.content.shares import share, unshare
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import Account, FakeServer
from tests.support.following import follow_and_wait
from tests.support.nodes import Node
from tests.support.published import publish_event, stored_event


async def followed_by(node: Node, account: Account) -> None:
    await account.post(f"{node.actor_id}/inbox", account.follow(node.actor_id))
    await account.server.wait_for(lambda r: r.activity["type"] == "Accept")


async def test_join_of_an_event_is_answered_with_a_signed_ignore_to_the_joiner(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await followed_by(node, alice)
    join = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.new_id("joins"),
        "type": "Join",
        "actor": alice.id,
        "object": f"{node.base_url}/events/1",
    }
    assert (await alice.post(f"{node.actor_id}/inbox", join)).status_code == 202
    ignore = await fediverse.wait_for(lambda r: r.activity["type"] == "Ignore")
    assert ignore.verified, "the Ignore's signature did not verify with httpsig"
    assert ignore.path == "/users/alice/inbox"
    ignore.activity.pop("@context")
    assert ignore.activity == {
        "id": ignore.activity["id"],
        "type": "Ignore",
        "actor": node.actor_id,
        "object": join["id"],
        "to": [alice.id],
    }
    assert ignore.activity["id"].startswith(f"{node.base_url}/activities/")


async def test_unshare_sends_undo_embedding_the_announce_as_it_was_sent(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    alice = fediverse.add_account("alice")
    await followed_by(b, alice)
    event = await publish_event(a)

    async def at_b() -> bool:
        return (await stored_event(b, event.uri)) is not None

    await eventually(at_b)
    async with b.ctx.sessions() as session, session.begin():
        await share(b.ctx, session, event.uri)
    b.ctx.wake()
    announce = await fediverse.wait_for(lambda r: r.activity["type"] == "Announce")
    async with b.ctx.sessions() as session, session.begin():
        await unshare(b.ctx, session, event.uri)
    b.ctx.wake()
    undo = await fediverse.wait_for(lambda r: r.activity["type"] == "Undo")
    assert announce.verified and undo.verified
    assert announce.activity.pop("@context") == undo.activity.pop("@context")
    assert announce.activity["object"] == event.uri
    assert undo.activity == {
        "id": undo.activity["id"],
        "type": "Undo",
        "actor": b.actor_id,
        "published": announce.activity["published"],
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [f"{b.actor_id}/followers"],
        "object": announce.activity,
    }
    assert undo.activity["id"] != announce.activity["id"]
