"""What a batch holds under its objects' URIs (node/content/held.py): one query
at the batch's start answers for every object never seen before, and an object
the batch itself stored, even once flushed, is found and changed as before."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import parse_activity
from node.content.models import RemoteNote, Tombstone
from node.handlers import build_router, finish_batch, handler_context, prepare_batch
from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import Account, FakeServer
from tests.support.following import be_followed_by
from tests.support.nodes import Node


@contextlib.asynccontextmanager
async def lookups(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements asking what is held under a URI (every one reads the
    tombstones) that ``session``'s connection runs meanwhile."""
    seen: list[str] = []

    def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if conn is connection and "tombstones" in statement:
            seen.append(statement)

    connection = (await session.connection()).sync_connection
    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", counted)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", counted)


def note(account: Account, uri: str, text: str, kind: str = "Create") -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": account.new_id(),
        "type": kind,
        "actor": account.id,
        "object": {"id": uri, "type": "Note", "attributedTo": account.id, "content": text},
    }


def delete(account: Account, uri: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": account.new_id(),
        "type": "Delete",
        "actor": account.id,
        "object": {"id": uri, "type": "Tombstone"},
    }


async def run_batch(node: Node, session: AsyncSession, activities: list[dict[str, Any]]) -> None:
    """What the inbound processor does with a batch sharing one transaction."""
    await prepare_batch(session, activities)
    router = build_router()
    for activity in activities:
        await router.dispatch(parse_activity(activity), handler_context(node.ctx, session))
    await finish_batch(node.ctx, session)


async def notes(node: Node) -> dict[str, str]:
    async with node.ctx.sessions() as session:
        rows = await session.execute(select(RemoteNote.uri, RemoteNote.content_html))
        return {uri: html for uri, html in rows.all()}


async def test_a_batch_of_new_objects_looks_them_up_in_one_query(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await be_followed_by(node, alice)
    creates = [note(alice, alice.new_id("notes"), f"<p>note {n}</p>") for n in range(5)]
    async with node.ctx.sessions() as session, session.begin():
        async with lookups(session) as seen:
            await run_batch(node, session, creates)
        assert len(seen) == 1
    stored = await notes(node)
    assert sorted(stored) == sorted(c["object"]["id"] for c in creates)


async def test_what_a_batch_stored_is_found_again_once_flushed(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await be_followed_by(node, alice)
    kept, gone = alice.new_id("notes"), alice.new_id("notes")
    batch = [
        note(alice, kept, "<p>first</p>"),
        note(alice, gone, "<p>x</p>"),
        note(alice, kept, "<p>edited</p>", kind="Update"),
        delete(alice, gone),
        note(alice, gone, "<p>again</p>"),
    ]
    router = build_router()
    async with node.ctx.sessions() as session, session.begin():
        await prepare_batch(session, batch)  # neither is held when the batch starts
        for n, activity in enumerate(batch):
            if n == 2:
                await session.flush()  # as a handler's query would (autoflush)
            await router.dispatch(parse_activity(activity), handler_context(node.ctx, session))
        await finish_batch(node.ctx, session)
    assert await notes(node) == {kept: "<p>edited</p>"}
    async with node.ctx.sessions() as session:
        assert await session.scalar(select(Tombstone.uri)) == gone
