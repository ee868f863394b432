"""Events and callouts travelling between real nodes, and votes from a fediverse
account: create, update, cancel/close, delete, relay, and spoofing refused."""

from __future__ import annotations

from datetime import UTC, datetime

from node.content import callouts as co
from node.content import events as ev
from node.content.calendar import open_callouts, origins, upcoming_events
from node.content.lookup import find_local
from node.content.models import Callout, Event
from node.content.shares import share
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import FakeServer
from tests.support.following import be_followed_by, follow_and_wait
from tests.support.nodes import Node
from tests.support.published import (
    publish_callout,
    publish_event,
    stored_callout,
    stored_event,
    vote,
)

AS2 = "application/activity+json"


async def calendar_titles(node: Node) -> list[tuple[str, str]]:
    async with node.ctx.sessions() as session:
        events = await upcoming_events(session, datetime.now(UTC))
        entries = await origins(session, list(events), node.settings.host)
    return [(entry.item.title, entry.origin.handle) for entry in entries]


async def test_event_lifecycle_reaches_a_following_node(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    event = await publish_event(a)

    async def arrived() -> bool:
        return (await stored_event(b, event.uri)) is not None

    await eventually(arrived)
    handle = f"@haringey@{a.settings.host}"
    assert ("Tenants' assembly", handle) in await calendar_titles(b)
    copy = await stored_event(b, event.uri)
    assert copy is not None and not copy.local and copy.timezone == "Europe/London"
    assert copy.location_name == "Community Hall" and copy.tags == ["housing"]
    assert "<em>neighbours</em>" in copy.description_html

    async with a.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Event, str(event.id))
        await ev.update_event(a.ctx, session, mine, ev.EventForm(title="Assembly (new room)"))
    a.ctx.wake()

    async def updated() -> bool:
        found = await stored_event(b, event.uri)
        return found is not None and found.title == "Assembly (new room)"

    await eventually(updated)
    async with a.ctx.sessions() as session, session.begin():
        await ev.cancel_event(a.ctx, session, await find_local(session, Event, event.uri))
    a.ctx.wake()

    async def cancelled() -> bool:
        found = await stored_event(b, event.uri)
        return found is not None and found.status == "cancelled"

    await eventually(cancelled)
    async with a.ctx.sessions() as session, session.begin():
        await ev.delete_event(a.ctx, session, await find_local(session, Event, event.uri))
    a.ctx.wake()

    async def deleted() -> bool:
        return (await stored_event(b, event.uri)) is None

    await eventually(deleted)
    gone = await a.client.get(event.uri, headers={"Accept": AS2})
    assert gone.status_code == 410
    assert gone.json()["type"] == "Tombstone"
    assert (await a.client.get(event.uri, headers={"Accept": "text/html"})).status_code == 410


async def test_callout_lifecycle_reaches_a_following_node(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    callout = await publish_callout(a)

    async def arrived() -> bool:
        return (await stored_callout(b, callout.uri)) is not None

    await eventually(arrived)
    copy = await stored_callout(b, callout.uri)
    assert copy is not None
    assert (copy.urgency, copy.people_needed, copy.status) == ("urgent", 20, "open")
    async with b.ctx.sessions() as session:
        assert [c.uri for c in await open_callouts(session, datetime.now(UTC))] == [callout.uri]
    async with a.ctx.sessions() as session, session.begin():
        await co.set_status(a.ctx, session, await find_local(session, Callout, callout.uri), "met")
    a.ctx.wake()

    async def met() -> bool:
        found = await stored_callout(b, callout.uri)
        return found is not None and found.status == "met"

    await eventually(met)
    async with b.ctx.sessions() as session:
        assert await open_callouts(session, datetime.now(UTC)) == []
    async with a.ctx.sessions() as session, session.begin():
        await co.delete_callout(a.ctx, session, await find_local(session, Callout, callout.uri))
    a.ctx.wake()

    async def deleted() -> bool:
        return (await stored_callout(b, callout.uri)) is None

    await eventually(deleted)
    assert (await a.client.get(callout.uri, headers={"Accept": AS2})).status_code == 410


async def test_vote_from_a_fediverse_account_counts_once_and_totals_reach_followers(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network")
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    follower = fediverse.add_account("carol", key_index=2)
    await follower.post(f"{a.actor_id}/inbox", follower.follow(a.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    callout = await publish_callout(a)
    await fediverse.wait_for(lambda r: r.activity["type"] == "Create")
    inbox = f"{a.actor_id}/inbox"
    assert (await alice.post(inbox, vote(alice, callout.uri, "I can come"))).status_code == 202

    async def alice_counted() -> bool:
        async with a.ctx.sessions() as session:
            mine = await find_local(session, Callout, callout.uri)
            return len(await co.responses(session, mine)) == 1

    await eventually(alice_counted)  # her second answer must come after the first
    for account, option in [(alice, "I can help another way"), (bob, "I can help another way")]:
        assert (await account.post(inbox, vote(account, callout.uri, option))).status_code == 202

    def totals(received: object) -> bool:
        activity = received.activity  # type: ignore[attr-defined]
        if activity["type"] != "Update" or activity["object"]["type"] != "Question":
            return False
        options = {o["name"]: o["replies"]["totalItems"] for o in activity["object"]["oneOf"]}
        return options == {"I can come": 1, "I can help another way": 1}

    update = await fediverse.wait_for(totals, timeout=20)
    assert update.verified
    assert update.activity["object"]["votersCount"] == 2
    async with a.ctx.sessions() as session:
        mine = await find_local(session, Callout, callout.uri)
        answers = await co.responses(session, mine)
    assert sorted((r.actor_uri, r.option) for r in answers) == [
        (alice.id, "come"),
        (bob.id, "help"),
    ]
    page = await a.client.get(callout.uri, headers={"Accept": "text/html"})
    assert alice.id not in page.text  # who answered is for the organisers only


async def test_relayed_callout_reaches_followers_of_the_relaying_node_with_its_origin(
    start_node: NodeFactory,
) -> None:
    a, b, c = await start_node("haringey"), await start_node("hackney"), await start_node("camden")
    await follow_and_wait(b, a)
    await follow_and_wait(c, b)  # c does not follow a
    callout = await publish_callout(a)

    async def at_b() -> bool:
        return (await stored_callout(b, callout.uri)) is not None

    await eventually(at_b)
    async with b.ctx.sessions() as session, session.begin():
        await share(b.ctx, session, callout.uri)
    b.ctx.wake()

    async def at_c() -> bool:
        return (await stored_callout(c, callout.uri)) is not None

    await eventually(at_c)
    copy = await stored_callout(c, callout.uri)
    assert copy is not None and copy.actor_uri == a.actor_id and copy.relayed_by == b.actor_id
    async with c.ctx.sessions() as session:
        entries = await origins(session, [copy], c.settings.host)
    assert entries[0].origin.handle == f"@haringey@{a.settings.host}"
    assert entries[0].relayed_by is not None
    assert entries[0].relayed_by.handle == f"@hackney@{b.settings.host}"


async def test_update_or_delete_of_an_event_by_another_actor_is_refused(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    mallory = fediverse.add_account("mallory")
    await be_followed_by(b, mallory)  # b takes content from mallory, but not for a's events
    event = await publish_event(a)

    async def arrived() -> bool:
        return (await stored_event(b, event.uri)) is not None

    await eventually(arrived)
    spoof = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": mallory.new_id(),
        "type": "Update",
        "actor": mallory.id,
        "object": {"id": event.uri, "type": "Event", "name": "Cancelled (not really)"},
    }
    response = await mallory.post(f"{b.actor_id}/inbox", spoof)
    assert response.status_code in (202, 403)
    delete = {**spoof, "id": mallory.new_id(), "type": "Delete", "object": event.uri}
    assert (await mallory.post(f"{b.actor_id}/inbox", delete)).status_code in (202, 403)
    await publish_event(a, title="A later event")  # once this arrives, the spoofs were handled

    async def later_arrived() -> bool:
        return ("A later event", f"@haringey@{a.settings.host}") in await calendar_titles(b)

    await eventually(later_arrived)
    kept = await stored_event(b, event.uri)
    assert kept is not None and kept.title == "Tenants' assembly"
