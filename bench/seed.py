"""Putting a node's starting state straight into its database, through the
node's own models (so model defaults fill any column added later), and the
node's own services for what the bench publishes (events, callouts)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text

from bench.harness import Node


@contextlib.asynccontextmanager
async def node_context(node: Node) -> AsyncIterator[Any]:
    """The node's own ``NodeContext`` (engine, sessions, URLs), in the bench process."""
    from node.runtime import node_context as make

    async with make(node.settings()) as context:
        yield context


def remote_actor_row(doc: dict[str, Any]) -> dict[str, Any]:
    """Column values of ``RemoteActor`` for an actor document."""
    from federation.hosts import url_authority

    return {
        "uri": doc["id"],
        "domain": url_authority(doc["id"]),
        "type": doc["type"],
        "preferred_username": doc["preferredUsername"],
        "name": doc.get("name", ""),
        "summary": doc.get("summary", ""),
        "url": doc.get("url"),
        "inbox": doc["inbox"],
        "shared_inbox": (doc.get("endpoints") or {}).get("sharedInbox"),
        "raw": doc,
        "fetched_at": datetime.now(UTC),
    }


async def add_remote_actors(context: Any, docs: Sequence[dict[str, Any]], *,
                            relation: str, chunk: int = 2000) -> int:
    """Store ``docs`` as remote actors that follow us (``relation="followers"``) or
    that we follow (``"followings"``), all accepted."""
    from node.identity import group_actor
    from node.models import Follower, Following, RemoteActor

    now = datetime.now(UTC)
    async with context.sessions() as session, session.begin():
        local = await group_actor(session)
        for start in range(0, len(docs), chunk):
            rows = [remote_actor_row(doc) for doc in docs[start : start + chunk]]
            result = await session.execute(
                insert(RemoteActor).returning(RemoteActor.id, RemoteActor.uri), rows
            )
            ids = result.all()
            if relation == "followers":
                await session.execute(insert(Follower), [
                    {"local_actor_id": local.id, "remote_actor_id": rid,
                     "follow_uri": f"{uri}#follows/bench", "state": "accepted",
                     "created_at": now, "accepted_at": now,
                     "follow_activity": {"id": f"{uri}#follows/bench", "type": "Follow",
                                         "actor": uri, "object": "bench"}}
                    for rid, uri in ids
                ])
            else:
                await session.execute(insert(Following), [
                    {"local_actor_id": local.id, "remote_actor_id": rid,
                     "follow_uri": f"{context.urls.base}/follows/bench-{rid}",
                     "state": "accepted", "created_at": now, "accepted_at": now}
                    for rid, uri in ids
                ])
    return len(docs)


async def add_events(context: Any, rows: Sequence[dict[str, Any]], chunk: int = 2000) -> None:
    from node.content.models import Event

    async with context.sessions() as session, session.begin():
        for start in range(0, len(rows), chunk):
            await session.execute(insert(Event), list(rows[start : start + chunk]))
        # own events are addressed by their row id
        await session.execute(text(
            "UPDATE events SET uri = :base || '/events/' || id, url = :base || '/events/' || id "
            "WHERE local"
        ), {"base": context.urls.base})


async def scalar(context: Any, sql: str, **params: Any) -> Any:
    async with context.sessions() as session:
        return await session.scalar(text(sql), params)


async def rows(context: Any, sql: str, **params: Any) -> list[Any]:
    async with context.sessions() as session:
        return list((await session.execute(text(sql), params)).all())


async def publish_event(context: Any, title: str, start: str, end: str) -> str:
    """Create a local event the way the CLI does (event, Create, deliveries: one commit)."""
    from node.content.events import EventForm, create_event

    async with context.sessions() as session, session.begin():
        event = await create_event(context, session, EventForm(
            title=title, start=start, end=end, location="Elm Court community hall",
            address="12 Elm Court Road, London N15 4QS",
            description="Bring your letters from the landlord. Childcare and food provided.",
            tags=["housing", "tenants"],
        ))
        return str(event.uri)


async def publish_callout(context: Any, title: str, until: str, people: int) -> str:
    from node.content.callouts import CalloutForm, create_callout

    async with context.sessions() as session, session.begin():
        callout = await create_callout(context, session, CalloutForm(
            title=title, needed="People at the door from 7am to stop the bailiffs.",
            people=str(people), until=until, urgency="urgent",
            location="14 Elm Court Road", contact="Signal +44 7700 900123",
        ))
        return str(callout.uri)


async def local_actor_id(context: Any) -> int:
    from node.identity import group_actor

    async with context.sessions() as session:
        return int((await group_actor(session)).id)


async def count_by_state(context: Any, table: str) -> dict[str, int]:
    result = await rows(context, f"SELECT state, count(*) FROM {table} GROUP BY state")
    return {state: int(n) for state, n in result}

