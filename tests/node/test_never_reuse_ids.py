"""Ids that appear in URLs and sessions are never handed out twice, on either
database: a deleted event's URL stays a tombstone and a new event gets a new
one, and migration 0006 makes it so for a node that already has data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import ColumnDefault, MetaData, Table, delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from node.content.models import Callout, CalloutResponse, Event, Tombstone
from node.db import make_engine, make_sessionmaker
from node.migrate import migrate
from node.models import AuditEntry, Base, LocalActor, OutboundActivity, User
from node.users import create_user, hash_password
from tests.support.admin import CALLOUT_FORM as CALLOUT
from tests.support.admin import EVENT_FORM as EVENT
from tests.support.admin import login, post_form
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "editor password 1"
BASE = "http://127.0.0.1:8000"
START = datetime(2030, 5, 1, 18, tzinfo=UTC)


@pytest.fixture
async def editor(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(
            session, "rosa", "editor", PASSWORD, must_change=False, hasher=CHEAP_HASHER
        )
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


def _event(n: int) -> dict[str, Any]:
    return dict(
        uri=f"{BASE}/pending/{n}", local=True, actor_uri=f"{BASE}/actors/network",
        origin_domain="127.0.0.1:8000", url="", title=f"event {n}",
        starts_at=START, ends_at=START + timedelta(hours=2),
    )  # fmt: skip


def _callout(n: int) -> dict[str, Any]:
    return dict(
        uri=f"{BASE}/pending-callout/{n}", local=True, actor_uri=f"{BASE}/actors/network",
        origin_domain="127.0.0.1:8000", url="", title=f"callout {n}", needed="people",
        urgency="urgent", starts_at=START, ends_at=START + timedelta(hours=2),
    )  # fmt: skip


async def _insert(session: AsyncSession, model: type[Base], **given: Any) -> int:
    """A row as the schema in the database has it (at 0005 here, older than the
    models): the given values, and the models' Python defaults for the other
    columns that exist there."""
    name = model.__tablename__

    def reflect(sync: Session) -> Table:
        return Table(name, MetaData(), autoload_with=sync.connection())

    table = await session.run_sync(reflect)
    values = dict(given)
    current = model.__table__.c
    for column in table.columns:
        default = current[column.name].default if column.name in current else None
        if column.name not in values and isinstance(default, ColumnDefault):
            values[column.name] = default.arg(None) if default.is_callable else default.arg
    row_id = await session.scalar(insert(table).values(**values).returning(table.c.id))
    return int(row_id)


async def _add(session: AsyncSession, model: type[Event | Callout], values: dict[str, Any]) -> int:
    row_id = await _insert(session, model, **values)
    uri = f"{BASE}/{model.__tablename__}/{row_id}"
    await session.execute(update(model).where(model.id == row_id).values(uri=uri, url=uri))
    return row_id


async def _add_item(session: AsyncSession, item: Event | Callout, kind: str) -> int:
    """Through the models, at the current schema."""
    session.add(item)
    await session.flush()
    item.uri = item.url = f"{BASE}/{kind}/{item.id}"
    return item.id


async def _seed_at_0005(session: AsyncSession) -> dict[str, int]:
    """Three events, two callouts (one with a response), three users, audit rows;
    the newest of each deleted; tombstones of items deleted long ago."""
    ids = {f"event{n}": await _add(session, Event, _event(n)) for n in range(3)}
    ids |= {f"callout{n}": await _add(session, Callout, _callout(n)) for n in range(2)}
    password_hash = hash_password(PASSWORD, CHEAP_HASHER)
    for name in ("ada", "bob", "cy"):
        ids[name] = await _insert(
            session, User, username=name, role="admin", password_hash=password_hash,
            must_change_password=False,
        )  # fmt: skip
    await _insert(session, CalloutResponse, callout_id=ids["callout0"],
                  actor_uri="https://x.example/a", option="come",
                  activity_uri="https://x.example/1")  # fmt: skip
    await _insert(session, AuditEntry, user_id=ids["bob"], username="bob", action="login",
                  target="")  # fmt: skip
    actor_id = await _insert(session, LocalActor, username="network", kind="group",
                             private_key_pem="-", public_key_pem="-")  # fmt: skip
    deleted = f"{BASE}/events/40"
    await _insert(session, OutboundActivity, uri=f"{BASE}/activities/ab",
                  local_actor_id=actor_id, type="Delete", object_uri=deleted,
                  body="{}")  # fmt: skip
    for uri, former in (
        (f"{BASE}/events/{ids['event2']}", "Event"),
        (f"{BASE}/events/40", "Event"),
        (f"{BASE}/callouts/30", "Question"),
        ("https://evil.example/events/9000000000000000000", "Event"),
    ):
        await session.execute(
            insert(Tombstone.__table__).values(uri=uri, former_type=former, deleted_at=START)
        )
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
            event_id = await _add_item(session, Event(**_event(9)), "events")
            callout_id = await _add_item(session, Callout(**_callout(9)), "callouts")
            dee = await create_user(
                session, "dee", "editor", PASSWORD, must_change=False, hasher=CHEAP_HASHER
            )
            await session.delete(dee)
            await session.flush()
            eve = await create_user(
                session, "eve", "editor", PASSWORD, must_change=False, hasher=CHEAP_HASHER
            )
        async with sessions() as session:
            assert await _content_count(session) > before, "the content triggers are gone"
    finally:
        await engine.dispose()
    assert 40 < event_id < 1000, f"event id {event_id}: a deleted event's URL is handed out again"
    assert 30 < callout_id < 1000, f"callout id {callout_id}"
    assert eve.id > dee.id, f"user id {eve.id}: a removed user's id is handed out again"
