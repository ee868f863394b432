"""A node answers a Join of its events with an Ignore (RSVPs are not taken over
ActivityPub), sent over real HTTP to a fediverse account signing with httpsig."""

from __future__ import annotations

from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import FakeServer


async def test_join_of_an_event_is_answered_with_a_signed_ignore_to_the_joiner(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await alice.post(f"{node.actor_id}/inbox", alice.follow(node.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
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
