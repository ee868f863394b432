"""Backfill on follow: once a followed network Accepts, its upcoming events and
open callouts are fetched from it and shown at once; a hostile outbox is cut
off at the bounds; a Create that overtakes the Accept is kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from starlette.responses import JSONResponse

from node import backfill
from node.cli import main
from node.content.calendar import open_callouts, upcoming_events
from node.content.models import Event
from node.models import Following, InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import Account, FakeServer
from tests.support.followed import accept, as_node_cli, ask_to_follow, event_of, post_create
from tests.support.following import follow_and_wait
from tests.support.nodes import Node
from tests.support.published import publish_callout, publish_event


async def calendar_uris(node: Node) -> set[str]:
    async with node.ctx.sessions() as session:
        now = datetime.now(UTC)
        items = [*await upcoming_events(session, now), *await open_callouts(session, now)]
    return {item.uri for item in items}


async def test_a_followed_node_s_calendar_arrives_within_seconds_of_the_accept(
    start_node: NodeFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    event, callout = await publish_event(a), await publish_callout(a)
    await follow_and_wait(b, a)  # published before the follow: never delivered to b

    async def backfilled() -> bool:
        return {event.uri, callout.uri} <= await calendar_uris(b)

    await eventually(backfilled, timeout=10)
    async with b.ctx.sessions() as session:
        following = await session.scalar(select(Following))
    assert following is not None and following.backfill_due_at is None  # done, not repeated
    as_node_cli(monkeypatch, b)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["calendar"]) == 0
    assert f"Tenants' assembly  (@haringey@{a.settings.host})" in capsys.readouterr().out


def hostile_outbox(mal: Account, elsewhere: FakeServer, other: Account) -> dict[str, Any]:
    """Documents of an outbox built to make a follower fetch for ever."""
    good = event_of(mal, "The one real event")
    foreign = event_of(elsewhere.add_account("bob", 1), "Elsewhere's event")
    stolen = event_of(mal, "Attributed to another") | {"attributedTo": other.id}
    base = mal.id
    pages: dict[str, Any] = {
        "/users/mal/events": {  # a page linking to itself
            "id": f"{base}/events",
            "type": "OrderedCollectionPage",
            "orderedItems": [good, foreign, stolen, 42, "not a url", {"type": "Create"}],
            "next": f"{base}/events",
        },
        "/users/mal/outbox": {
            "id": f"{base}/outbox",
            "type": "OrderedCollection",
            "first": f"{base}/outbox?page=1",
        },
    }
    for n in range(1, 50):  # an endless chain, its third page huge
        items = [f"{base}/notes/{i}" for i in range(1000)] if n == 3 else []
        pages[f"/users/mal/outbox?page={n}"] = {
            "id": f"{base}/outbox?page={n}",
            "type": "OrderedCollectionPage",
            "orderedItems": items,
            "next": f"{base}/outbox?page={n + 1}",
        }
    for doc in (good, stolen):
        pages[doc["id"].removeprefix(mal.server.base)] = doc
    pages[foreign["id"].removeprefix(elsewhere.base)] = foreign
    return pages


async def test_a_hostile_outbox_is_cut_off_at_the_bounds_and_nothing_foreign_is_kept(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer
) -> None:
    node = await start_node("haringey")
    mal, other = fediverse.add_account("mal"), fediverse.add_account("other", 1)
    documents = hostile_outbox(mal, elsewhere, other)
    fediverse.documents.update({k: v for k, v in documents.items() if "elsewhere" not in k})
    elsewhere.documents.update(documents)
    doc = mal.document() | {"upcomingEvents": f"{mal.id}/events"}
    fediverse.override["/users/mal"] = lambda: fediverse_json(doc)
    await accept(node, mal, await ask_to_follow(node, mal))

    async def done() -> bool:
        async with node.ctx.sessions() as session:
            following = await session.scalar(select(Following))
        return (
            following is not None
            and following.backfill_attempts == 1
            and (following.backfill_due_at is None)
        )

    await eventually(done, timeout=60)
    async with node.ctx.sessions() as session:
        titles = set((await session.scalars(select(Event.title))).all())
    assert titles == {"The one real event"}
    collections = [p for p in fediverse.fetched if p[-7:] == "/events" or "outbox" in p]
    assert len(collections) == backfill.MAX_PAGES
    notes = [p for p in fediverse.fetched if "/notes/" in p]
    assert 0 < len(notes) <= backfill.MAX_ITEMS
    assert not elsewhere.fetched  # an item on another host is not even fetched


def fediverse_json(doc: dict[str, Any]) -> Any:
    return JSONResponse(doc, media_type="application/activity+json")


async def test_a_slow_outbox_is_given_up_at_the_time_bound(
    start_node: NodeFactory, fediverse: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backfill, "MAX_SECONDS", 1.0)
    node = await start_node("haringey")
    slow = fediverse.add_account("slow")
    stalled = asyncio.Event()

    async def never_answers() -> Any:
        await asyncio.wait_for(stalled.wait(), 20)
        return fediverse_json({})

    fediverse.documents["/users/slow/outbox"] = never_answers
    started = asyncio.get_running_loop().time()
    await accept(node, slow, await ask_to_follow(node, slow))

    async def given_up() -> bool:
        async with node.ctx.sessions() as session:
            following = await session.scalar(select(Following))
        return following is not None and following.backfill_due_at is None

    await eventually(given_up, timeout=15)
    assert asyncio.get_running_loop().time() - started < 10
    stalled.set()


async def test_a_create_that_overtakes_the_accept_is_kept(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("haringey")
    alice = fediverse.add_account("alice")
    follow = await ask_to_follow(node, alice)
    event = event_of(alice, "Posted before the Accept arrived")
    await post_create(node, alice, event)

    async def kept_while_pending() -> bool:
        async with node.ctx.sessions() as session:
            state = await session.scalar(select(Following.state))
            stored = await session.scalar(select(Event).where(Event.uri == event["id"]))
        assert state == "pending"
        return stored is not None

    await eventually(kept_while_pending)
    await accept(node, alice, follow)
    stranger = fediverse.add_account("stranger", 1)  # never asked: still ignored
    ignored = event_of(stranger, "From an actor not followed")
    await post_create(node, stranger, ignored)

    async def handled() -> bool:  # the stranger's Create was recorded, and processed
        async with node.ctx.sessions() as session:
            query = select(InboundActivity.state).where(InboundActivity.actor_uri == stranger.id)
            states = (await session.scalars(query)).all()
        return bool(states) and "pending" not in states

    await eventually(handled)
    assert ignored["id"] not in await calendar_uris(node)
    assert event["id"] in await calendar_uris(node)
