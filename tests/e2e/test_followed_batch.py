"""The followed check of an inbound batch (node/content/followed.py): the
follows are read once for the whole batch, and read again after a handler that
may change them, so an Accept followed by that actor's content in the same
batch still lets the content in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import parse_activity
from node.content.followed import batch_follows, forget_follows, is_followed
from node.handlers import build_router, handler_context
from node.models import Following, RemoteActor
from tests.e2e.conftest import NodeFactory
from tests.support.following import follow_and_wait

STRANGER = "http://127.0.0.1:9/actors/nobody"


@contextlib.asynccontextmanager
async def statements(session: AsyncSession) -> AsyncIterator[list[str]]:
    """The statements reading the follows that ``session``'s connection runs
    meanwhile (the node's own background work shares the engine)."""
    seen: list[str] = []

    def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if conn is connection and "followings" in statement:
            seen.append(statement)

    connection = (await session.connection()).sync_connection
    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", counted)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", counted)


async def test_a_batch_reads_the_follows_once_and_again_after_they_change(
    start_node: NodeFactory,
) -> None:
    origin, here = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(here, origin)
    async with here.ctx.sessions() as session, session.begin():
        batch_follows(session)
        async with statements(session) as seen:
            answers = [
                await is_followed(session, origin.actor_id),
                await is_followed(session, origin.actor_id, or_asked=True),
                await is_followed(session, STRANGER),
                await is_followed(session, STRANGER, or_asked=True),
            ]
        assert answers == [True, True, False, False]
        assert len(seen) == 1  # one read for the four questions

        remote_id = select(RemoteActor.id).where(RemoteActor.uri == origin.actor_id)
        await session.execute(
            update(Following)
            .where(Following.remote_actor_id == remote_id.scalar_subquery())
            .values(state="pending")
        )
        forget_follows(session)  # what a handler that changes follows leads to
        assert not await is_followed(session, origin.actor_id)
        assert await is_followed(session, origin.actor_id, or_asked=True)  # asked, pending


async def test_after_an_accept_in_a_batch_the_follows_are_read_again(
    start_node: NodeFactory,
) -> None:
    here = await start_node("hackney")
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://127.0.0.1:9/accepts/1",
        "type": "Accept",
        "actor": STRANGER,
        "object": "http://127.0.0.1:9/follows/unknown",
    }
    async with here.ctx.sessions() as session, session.begin():
        inbound = handler_context(here.ctx, session)
        await is_followed(session, STRANGER)
        async with statements(session) as kept:
            await is_followed(session, STRANGER)
        assert kept == []  # answered from the batch's read
        await build_router().dispatch(parse_activity(accept), inbound)
        async with statements(session) as again:
            await is_followed(session, STRANGER)
        assert len(again) == 1
