"""Ids that appear in URLs and sessions are never handed out twice, on either
database: a deleted event's URL stays a tombstone and a new event gets a new
one, and migration 0006 makes it so for a node that already has data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from node.content.models import Callout, CalloutResponse, Event, Tombstone
from node.db import make_engine, make_sessionmaker
from node.migrate import migrate
from node.models import AuditEntry, LocalActor, OutboundActivity, User
from node.users import create_user
from tests.support.admin import CALLOUT_FORM as CALLOUT
from tests.support.admin import EVENT_FORM as EVENT
from tests.support.admin import login, post_form
from tests.support.nodes import Node

PASSWORD = "editor password 1"
BASE = "http://127.0.0.1:8000"
START = datetime(2030, 5, 1, 18, tzinfo=UTC)


@pytest.fixture
async def editor(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, "rosa", "editor", PASSWORD, must_change=False)
    async with httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url) as c:
        assert (await login(c, "rosa", PASSWORD)).status_code == 303
        yield c


@pytest.mark.parametrize(
    ("kind", "model", "form"), [("events", Event, EVENT), ("callouts", Callout, CALLOUT)]
)
async def test_deleting_the_newest_item_never_gives_its_url_to_the_next(
    node: Node,
    editor: httpx.AsyncClient,
    kind: str,
    model: type[Event | Callout],
    form: dict[str, str],
) -> None:
    await post_form(editor, f"/admin/{kind}/new", **form)
    async with node.ctx.sessions() as session:
        first = await session.scalar(select(model))
    assert first is not None
    deleted = await post_form(editor, f"/admin/{kind}/{first.id}/delete")
    assert deleted.status_code == 303
    await post_form(editor, f"/admin/{kind}/new", **form)
    async with node.ctx.sessions() as session:
        second = await session.scalar(select(model))
    assert second is not None
    assert second.uri != first.uri, f"the new item got the deleted one's URL {first.uri}"
    assert (await node.client.get(second.uri.removeprefix(node.base_url))).status_code == 200
    again = await post_form(editor, f"/admin/{kind}/{second.id}/delete")
    assert again.status_code == 303, again.text


def _event(n: int) -> Event:
    return Event(
        uri=f"{BASE}/pending/{n}", local=True, actor_uri=f"{BASE}/actors/network",
        origin_domain="127.0.0.1:8000", url="", title=f"event {n}",
        starts_at=START, ends_at=START + timedelta(hours=2),
    )  # fmt: skip


def _callout(n: int) -> Callout:
    return Callout(
        uri=f"{BASE}/pending-callout/{n}", local=True, actor_uri=f"{BASE}/actors/network",
        origin_domain="127.0.0.1:8000", url="", title=f"callout {n}", needed="people",
        urgency="urgent", starts_at=START, ends_at=START + timedelta(hours=2),
    )  # fmt: skip


async def _add(session: AsyncSession, item: Event | Callout, kind: str) -> int:
    session.add(item)
    await session.flush()
    item.uri = item.url = f"{BASE}/{kind}/{item.id}"
    return item.id


async def _seed_at_0005(session: AsyncSession) -> dict[str, int]:
    """Three events, two callouts (one with a response), three users, audit rows;
    the newest of each deleted; tombstones of items deleted long ago."""
    ids = {f"event{n}": await _add(session, _event(n), "events") for n in range(3)}
    ids |= {f"callout{n}": await _add(session, _callout(n), "callouts") for n in range(2)}
    for name in ("ada", "bob", "cy"):
        ids[name] = (await create_user(session, name, "admin", PASSWORD, must_change=False)).id
    session.add(CalloutResponse(callout_id=ids["callout0"], actor_uri="https://x.example/a",
                                option="come", activity_uri="https://x.example/1"))  # fmt: skip
    session.add(AuditEntry(user_id=ids["bob"], username="bob", action="login", target=""))
    actor = LocalActor(username="network", kind="group", private_key_pem="-", public_key_pem="-")
    session.add(actor)
    await session.flush()
    deleted = f"{BASE}/events/40"
    session.add(OutboundActivity(uri=f"{BASE}/activities/ab", local_actor_id=actor.id,
                                 type="Delete", object_uri=deleted, body="{}"))  # fmt: skip
    session.add_all([
        Tombstone(uri=f"{BASE}/events/{ids['event2']}", former_type="Event"),
        Tombstone(uri=f"{BASE}/events/40", former_type="Event"),
        Tombstone(uri=f"{BASE}/callouts/30", former_type="Question"),
        Tombstone(uri="https://evil.example/events/9000000000000000000", former_type="Event"),
    ])  # fmt: skip
    await session.execute(delete(Event).where(Event.id == ids["event2"]))
    await session.execute(delete(User).where(User.id == ids["cy"]))
    return ids


async def _content_count(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT sum(content) FROM content_changes")) or 0)


async def test_migration_0006_keeps_rows_and_never_hands_out_a_used_id(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        await migrate(engine, "0005")
        async with sessions() as session, session.begin():
            ids = await _seed_at_0005(session)
        await migrate(engine)
        async with sessions() as session, session.begin():
            assert set(await session.scalars(select(Event.id))) == {ids["event0"], ids["event1"]}
            assert await session.scalar(select(func.count()).select_from(CalloutResponse)) == 1
            assert await session.scalar(select(AuditEntry.user_id)) == ids["bob"]
            before = await _content_count(session)
            event_id = await _add(session, _event(9), "events")
            callout_id = await _add(session, _callout(9), "callouts")
            dee = await create_user(session, "dee", "editor", PASSWORD, must_change=False)
            await session.delete(dee)
            await session.flush()
            eve = await create_user(session, "eve", "editor", PASSWORD, must_change=False)
        async with sessions() as session:
            assert await _content_count(session) > before, "the content triggers are gone"
    finally:
        await engine.dispose()
    assert 40 < event_id < 1000, f"event id {event_id}: a deleted event's URL is handed out again"
    assert 30 < callout_id < 1000, f"callout id {callout_id}"
    assert eve.id > dee.id, f"user id {eve.id}: a removed user's id is handed out again"
