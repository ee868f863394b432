"""A callout's states reach a following Tocsin node and are shown there; events'
cancellations reach followers as a Note too; who answered is forgotten after the
retention days."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from node.cli_content import _callouts
from node.content import events as ev
from node.content.lookup import find_local
from node.content.models import Callout, CalloutMessage, CalloutResponse, Event, RemoteNote
from node.content.responders import purge_responders
from node.models import Delivery, OutboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.dispatch import act, answer, publish_private_callout, roles
from tests.support.fediverse import FakeServer
from tests.support.following import follow_and_wait
from tests.support.nodes import Node
from tests.support.published import publish_event, stored_callout


async def remote_status(node: Node, uri: str) -> str | None:
    found = await stored_callout(node, uri)
    return None if found is None else found.status


async def callouts_page(node: Node) -> str:
    return (await node.client.get("/callouts", headers={"Accept": "text/html"})).text


async def test_remote_states_are_shown_on_a_following_node_and_stop_being_urgent(
    start_node: NodeFactory,
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    callout = await publish_private_callout(a, unverified=True)

    async def checked() -> bool:
        return await remote_status(b, callout.uri) == "unverified"

    await eventually(checked)
    assert "UNVERIFIED — being checked" in await callouts_page(b)
    await act(a, callout, "confirm")
    await act(a, callout, "enough")

    async def enough() -> bool:
        return await remote_status(b, callout.uri) == "enough"

    await eventually(enough)
    assert "ENOUGH PEOPLE" in await callouts_page(b)
    listing = await _callouts(argparse.Namespace(), b.ctx)
    assert "ENOUGH PEOPLE" in listing and "0 of 2 confirmed" in listing
    assert "12 High Road" not in listing
    urgent = await publish_private_callout(a, unverified=False)

    async def both() -> bool:
        return await remote_status(b, urgent.uri) == "open"

    await eventually(both)
    lines = (await _callouts(argparse.Namespace(), b.ctx)).splitlines()
    assert [urgent.url in lines[0], callout.url in lines[1]] == [True, True]  # enough sorts after
    await act(a, callout, "close")

    async def met() -> bool:
        return await remote_status(b, callout.uri) == "met"

    await eventually(met)
    assert "ALL CLEAR" in await callouts_page(b)

    async def news_arrived() -> bool:
        async with b.ctx.sessions() as session:
            notes = await session.scalars(
                select(RemoteNote).where(RemoteNote.in_reply_to == callout.uri)
            )
            text = " ".join(note.content_html for note in notes)
        return all(words in text for words in ("GO", "ENOUGH PEOPLE", "ALL CLEAR"))

    await eventually(news_arrived)


async def test_cancelling_an_event_also_posts_a_note_to_followers(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network")
    follower = fediverse.add_account("erin", key_index=2)
    await follower.post(f"{a.actor_id}/inbox", follower.follow(a.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    event = await publish_event(a)
    async with a.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Event, event.uri)
        await ev.update_event(a.ctx, session, mine, ev.EventForm(location="Old Library"))
        await ev.cancel_event(a.ctx, session, mine)
    a.ctx.wake()
    for word in ("MOVED", "CANCELLED"):
        received = await fediverse.wait_for(
            lambda r, word=word: (
                r.activity["type"] == "Create"  # type: ignore[misc]
                and r.activity["object"].get("inReplyTo") == event.uri
                and f"<strong>{word}</strong>" in r.activity["object"]["content"]
            )
        )
        assert received.activity["object"]["type"] == "Note"


async def count(node: Node, model: type[object]) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_who_answered_is_forgotten_after_the_retention_days(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network", TOCSIN_RETENTION_DAYS="3")
    alice = fediverse.add_account("alice")
    callout = await publish_private_callout(a, unverified=False)
    await answer(a, alice, callout, "I can come")
    assert await roles(a, callout) == {alice.id: "confirmed"}
    await fediverse.wait_for(lambda r: r.path == "/users/alice/inbox")
    dms_before = await count(a, OutboundActivity)
    assert await count(a, CalloutMessage) == 1
    await act(a, callout, "close")
    now = datetime.now(UTC)
    assert await purge_responders(a.ctx, now + timedelta(days=2)) == 0  # not yet
    assert await count(a, CalloutResponse) == 1
    assert await purge_responders(a.ctx, now + timedelta(days=3, minutes=1)) == 1
    assert await count(a, CalloutResponse) == await count(a, CalloutMessage) == 0
    assert await count(a, OutboundActivity) == dms_before + 2 - 1  # the close's two in, the DM out
    async with a.ctx.sessions() as session:
        bodies = (await session.scalars(select(OutboundActivity.body))).all()
        kept = await find_local(session, Callout, callout.uri)
        inboxes = (await session.scalars(select(Delivery.inbox_url))).all()
    assert not any("12 High Road" in body or alice.id in body for body in bodies)
    assert alice.inbox not in inboxes  # the direct message's delivery is gone too
    assert kept.responders_purged_at is not None and kept.confirmed_count == 1
    assert await purge_responders(a.ctx, now + timedelta(days=30)) == 0  # once only
