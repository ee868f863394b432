"""Deliveries committed in one process wake the workers of the others at once
(PostgreSQL's LISTEN/NOTIFY); a rolled-back transaction wakes no one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from node.bootstrap import prepare
from node.context import NodeContext
from node.identity import group_actor
from node.models import DomainHealth
from node.outbox import enqueue, new_activity_id
from node.runtime import node_context
from node.wakeup import CHANNEL
from tests.support.keys import next_key_pair
from tests.support.nodes import make_settings


@dataclass(frozen=True)
class Inbox:
    inbox: str
    shared_inbox: str | None = None


class Rollback(Exception):
    pass


async def queue_delivery(ctx: NodeContext, host: str) -> None:
    async with ctx.sessions() as session, session.begin():
        await enqueue(
            session,
            await group_actor(session),
            {"id": new_activity_id(ctx.urls), "type": "Create", "actor": "x"},
            recipients=[Inbox(f"https://{host}/inbox")],
            own_host=ctx.settings.host,
        )


@pytest.fixture
async def two_processes(
    database_url: str, db_kind: str, tmp_path: Path
) -> AsyncIterator[tuple[NodeContext, NodeContext]]:
    """Two node processes' contexts on one PostgreSQL database."""
    if db_kind != "postgres":
        pytest.skip("one SQLite process wakes its own worker")
    settings = make_settings(tmp_path, database_url, base_url="http://127.0.0.1:8000")
    await prepare(settings, first_admin=False, new_key_pair=next_key_pair)
    async with node_context(settings) as web, node_context(settings) as worker:
        yield web, worker


async def test_deliveries_committed_elsewhere_wake_this_process(
    two_processes: tuple[NodeContext, NodeContext],
) -> None:
    web, worker = two_processes
    for host in ("first.example", "second.example"):
        worker.work_available.clear()
        await queue_delivery(web, host)
        async with asyncio.timeout(10):
            await worker.work_available.wait()


async def test_only_committed_deliveries_send_the_notice(
    two_processes: tuple[NodeContext, NodeContext], database_url: str
) -> None:
    web, _ = two_processes
    payloads: list[str] = []
    fenced = asyncio.Event()

    def seen(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        payloads.append(payload)
        if payload == "fence":
            fenced.set()

    listener = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await listener.add_listener(CHANNEL, seen)
        with pytest.raises(Rollback):
            async with web.sessions() as session, session.begin():
                await enqueue(
                    session,
                    await group_actor(session),
                    {"id": new_activity_id(web.urls), "type": "Create", "actor": "x"},
                    recipients=[Inbox("https://rolled.example/inbox")],
                    own_host=web.settings.host,
                )
                await session.flush()
                raise Rollback
        async with web.sessions() as session, session.begin():
            await session.get(DomainHealth, "nothing-queued.example")  # no delivery: no notice
        await queue_delivery(web, "committed.example")
        await listener.execute(f"NOTIFY {CHANNEL}, 'fence'")  # delivered in commit order
        async with asyncio.timeout(10):
            await fenced.wait()
    finally:
        await listener.close()
    assert payloads == ["", "fence"]
