"""A crash costs seconds, not minutes, and duplicates are rare: real ``tocsin
worker`` processes on one PostgreSQL queue, killed with SIGKILL mid-work.

A killed worker's duplicates are the deliveries it had under way (POST started,
outcome not written), at most ``DEFAULT_CONCURRENCY``; on loopback, where every
POST is answered at once, its window keeps far fewer under way than that.

The figures (time to finish after the restart, duplicate POSTs) are printed
(``pytest -s``) and recorded as properties; the bounds asserted are generous.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from federation.delivery import DEFAULT_CONCURRENCY
from node.identity import group_actor
from node.models import Delivery, InboundActivity
from node.outbox import enqueue, new_activity_id
from tests.support.databases import migrated_database, postgres_url
from tests.support.fediverse import serve
from tests.support.nodes import Node, free_port, http_node, make_settings
from tests.support.processes import start_worker, stop
from tests.support.sink import HangingServer, InboxSink

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_url() is None, reason="TOCSIN_TEST_POSTGRES_URL is not set"),
]

FOLLOWERS = 1000
FOLLOWS = 5


@dataclass(frozen=True)
class Inbox:
    inbox: str
    shared_inbox: str | None = None


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Node]:
    """``tocsin web`` on PostgreSQL: it leaves all work to the worker processes."""
    async with migrated_database("postgres", tmp_path) as url:
        port = free_port()
        settings = make_settings(tmp_path, url, base_url=f"http://127.0.0.1:{port}")
        async with http_node(settings, process_inbox=False) as node:
            yield node


async def count(node: Node, table: type[Delivery] | type[InboundActivity], state: str) -> int:
    async with node.ctx.sessions() as session:
        query = select(func.count()).select_from(table).where(table.state == state)
        return int(await session.scalar(query) or 0)


async def until(check: object, timeout: float) -> float:
    """Seconds until the awaitable-returning ``check()`` is true (fails after ``timeout``)."""
    began = time.monotonic()
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.05)
    return time.monotonic() - began


async def _fan_out(web: Node, sink: InboxSink) -> None:
    async with web.ctx.sessions() as session, session.begin():
        await enqueue(
            session,
            await group_actor(session),
            {"id": new_activity_id(web.ctx.urls), "type": "Create", "actor": "x"},
            recipients=[Inbox(sink.inbox(n)) for n in range(FOLLOWERS)],
            own_host=web.settings.host,
        )


@pytest.mark.parametrize("kill_at", [400, 20], ids=["mid-way", "first-burst"])
async def test_a_killed_workers_fan_out_is_finished_by_a_new_worker_with_few_duplicates(
    web: Node, tmp_path: Path, record_property: pytest.RecordProperty, kill_at: int
) -> None:
    log = tmp_path / "workers.log"
    async with InboxSink() as sink:
        doomed = await start_worker(web.settings, web.ctx.sessions, log)
        try:
            await _fan_out(web, sink)
            async with asyncio.timeout(30):
                while len(sink.posts) < kill_at:
                    await asyncio.sleep(0.001)
        finally:
            stop(doomed)  # SIGKILL mid fan-out
        at_kill = len(sink.posts)
        assert at_kill < FOLLOWERS, "the fan-out ended before the kill"
        began = time.monotonic()
        survivor = await start_worker(web.settings, web.ctx.sessions, log)
        try:

            async def all_delivered() -> bool:
                return sink.distinct == FOLLOWERS and await count(web, Delivery, "done") == (
                    FOLLOWERS
                )

            await until(all_delivered, timeout=60)
            rest = time.monotonic() - began
        finally:
            stop(survivor)
    print(
        f"\nfan-out of {FOLLOWERS}: killed after {at_kill} POSTs; the rest delivered "
        f"{rest:.1f} s after a new worker started; {sink.duplicates} duplicate POSTs"
    )
    record_property("rest_delivered_s", round(rest, 2))
    record_property("duplicates", sink.duplicates)
    # Sent again: only deliveries under way (POST started, outcome not written) when
    # the worker died, never more than the worker's concurrency.
    assert sink.duplicates <= DEFAULT_CONCURRENCY


async def _queue_follows(web: Node, fediverse: HangingServer) -> None:
    """Follows recorded as the inbox records them; their actors are not stored
    yet, so processing each one fetches its actor document."""
    async with web.ctx.sessions() as session, session.begin():
        for n in range(FOLLOWS):
            follow = fediverse.add_account(f"f{n}").follow(web.actor_id)
            session.add(
                InboundActivity(
                    uri=follow["id"], type="Follow", actor_uri=follow["actor"], payload=follow
                )
            )


async def _claimed_and_hanging(web: Node, fediverse: HangingServer) -> None:
    async def held() -> bool:
        async with web.ctx.sessions() as session:
            query = select(func.count()).where(InboundActivity.locked_by.is_not(None))
            claimed = await session.scalar(query)
        return claimed == FOLLOWS and fediverse.asked > 0

    await until(held, timeout=30)


async def test_activities_claimed_by_a_killed_worker_are_processed_soon_after_a_restart(
    web: Node, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    log = tmp_path / "workers.log"
    async with serve(HangingServer("127.0.0.1", free_port())) as fediverse:
        fediverse.hanging.set()  # processing waits on the first actor fetch
        await _queue_follows(web, fediverse)
        doomed = await start_worker(web.settings, web.ctx.sessions, log)
        try:
            await _claimed_and_hanging(web, fediverse)
        finally:
            stop(doomed)
        fediverse.released.set()
        began = time.monotonic()
        survivor = await start_worker(web.settings, web.ctx.sessions, log)
        try:

            async def all_processed() -> bool:
                return await count(web, InboundActivity, "done") == FOLLOWS

            await until(all_processed, timeout=60)
            rest = time.monotonic() - began
        finally:
            stop(survivor)
    print(f"\n{FOLLOWS} claimed activities processed {rest:.1f} s after the restart")
    record_property("processed_after_restart_s", round(rest, 2))


async def _database_down(url: str, down: bool) -> None:
    """Refuse (and drop) every connection to the node's database, or allow them again:
    as a PostgreSQL restart looks to the node."""
    name = make_url(url).database
    base = postgres_url()
    assert base is not None and name is not None
    admin_dsn = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {not down!s}')
        if down:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await admin.close()


async def test_claims_held_when_the_database_connection_drops_are_given_back(
    web: Node, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    log = tmp_path / "workers.log"
    async with serve(HangingServer("127.0.0.1", free_port())) as fediverse:
        fediverse.hanging.set()
        await _queue_follows(web, fediverse)
        worker = await start_worker(web.settings, web.ctx.sessions, log)
        try:
            await _claimed_and_hanging(web, fediverse)
            await _database_down(web.settings.database_url, down=True)
            try:
                fediverse.released.set()  # the handler goes on, and finds the database gone
                await asyncio.sleep(3)
            finally:
                await _database_down(web.settings.database_url, down=False)
            began = time.monotonic()
            await web.ctx.engine.dispose()  # the test's own pooled connections were dropped too

            async def all_processed() -> bool:
                return await count(web, InboundActivity, "done") == FOLLOWS

            await until(all_processed, timeout=20)  # the lease alone would take minutes
            back = time.monotonic() - began
        finally:
            stop(worker)
    print(f"\n{FOLLOWS} activities processed {back:.1f} s after the database came back")
    record_property("processed_after_reconnect_s", round(back, 2))
