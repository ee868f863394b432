"""A remote actor that rotates its key: the node's cached key no longer checks,
so it fetches the actor's document again, once, and accepts the request; a
second failure from the same server within the cool-down is refused without
a fetch (a forger cannot make the node fetch on every request)."""

from __future__ import annotations

from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import FakeServer, fixed_key


def note(actor: str, new_id: str) -> dict[str, object]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": new_id,
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": new_id + "/note",
            "type": "Note",
            "attributedTo": actor,
            "content": "<p>hello</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }


async def test_rotated_key_is_fetched_again_once_and_accepted(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("network", worker=False)
    inbox = f"{node.actor_id}/inbox"
    carol = fediverse.add_account("carol", key_index=0)
    path = f"/users/{carol.name}"

    first = await carol.post(inbox, note(carol.id, carol.new_id()))
    assert first.status_code == 202, first.text
    assert fediverse.fetched.count(path) == 1

    carol.key = fixed_key(1)  # rotated: the document now carries the new key
    rotated = await carol.post(inbox, note(carol.id, carol.new_id()))
    assert rotated.status_code == 202, rotated.text
    assert fediverse.fetched.count(path) == 2

    again = await carol.post(inbox, note(carol.id, carol.new_id()))
    assert again.status_code == 202, again.text
    assert fediverse.fetched.count(path) == 2  # the new key is remembered

    carol.key = fixed_key(2)  # rotated again at once: the host's refetch is cooling down
    too_soon = await carol.post(inbox, note(carol.id, carol.new_id()))
    assert too_soon.status_code == 401, too_soon.text
    assert fediverse.fetched.count(path) == 2
