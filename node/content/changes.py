"""What the public reads depend on, as counters the database keeps (migration 0005).

Triggers raise ``content_changes`` in the same transaction as every write to the
events, callouts, tombstones, actors and followings, whichever process makes it.
``ChangeWatch.read()`` returns the sums as read *after* the call began, so a page
kept under the same sums shows every change committed before the request
arrived. Reads are shared: requests that arrive while one read is on its way
wait for the next one, and that one serves them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

COUNTERS_SQL = (
    "SELECT CAST(SUM(content) AS BIGINT), CAST(SUM(actors) AS BIGINT), "
    "CAST(MAX(longest_event) AS BIGINT) FROM content_changes"
)
LONGEST_SQL = "SELECT MAX(longest_event) FROM content_changes"


MAX_SPAN = 86_400 * 366 * 9_000  # seconds; what timedelta can hold, with room


def _span(seconds: object) -> timedelta:
    return timedelta(seconds=min(max(int(str(seconds)), 0), MAX_SPAN))


@dataclass(frozen=True)
class Counters:
    content: int  # raised by every change to what public pages and feeds show
    actors: int  # raised by changes to this node's own actors
    longest_event: timedelta  # no stored event lasts longer


def _counters(row: Sequence[Any]) -> Counters | None:
    if row[0] is None:
        return None
    return Counters(int(row[0]), int(row[1]), _span(row[2]))


async def read_counters(conn: AsyncConnection) -> Counters | None:
    """The counters now; None when the table is empty (nothing can be kept then)."""
    return _counters((await conn.exec_driver_sql(COUNTERS_SQL)).one())


async def _driver_fetch(conn: AsyncConnection) -> Callable[[], Awaitable[Sequence[Any]]]:
    """The counters query straight on the driver's connection: the watch runs it for
    every few requests, and SQLAlchemy's statement machinery would cost more than
    the query itself. ``conn`` is in autocommit mode, so each read sees the latest
    commits."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if conn.dialect.driver == "asyncpg":

        async def fetch_asyncpg() -> Sequence[Any]:
            row = await driver.fetchrow(COUNTERS_SQL)  # type: ignore[union-attr]
            return tuple(row)

        return fetch_asyncpg

    async def fetch_other() -> Sequence[Any]:
        return (await conn.exec_driver_sql(COUNTERS_SQL)).one()

    return fetch_other


async def longest_event(session: AsyncSession) -> timedelta | None:
    """How long the longest stored event lasts: no unfinished event began earlier than that."""
    seconds = await session.scalar(text(LONGEST_SQL))
    return None if seconds is None else _span(seconds)


class ChangeWatch:
    """Shared, always-fresh reads of the counters for one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._next: asyncio.Future[Counters | None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._last: Counters | None = None
        self._last_sent = float("-inf")  # loop time the last answered read was sent

    async def read(self, max_lag: float = 0.0) -> Counters | None:
        """Counters read after this call began (a read already on its way is not used),
        or, given ``max_lag``, read at most that many seconds before it."""
        if max_lag > 0 and asyncio.get_running_loop().time() - self._last_sent < max_lag:
            return self._last
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        """Answer the waiting reads one after another on one connection. The last
        read is answered once the connection is back in the pool, so nothing holds
        one when nobody waits (a shutdown then finds every connection returned)."""
        while self._next is not None:
            waiting, self._next = self._next, None
            try:
                async with self.engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    fetch = await _driver_fetch(conn)
                    while True:
                        sent = asyncio.get_running_loop().time()
                        counters = await self._read(fetch)
                        self._last, self._last_sent = counters, sent
                        if self._next is None:
                            break
                        waiting.set_result(counters)
                        waiting, self._next = self._next, None
                waiting.set_result(counters)
            except Exception as exc:  # every waiter of this read gets the failure
                if not waiting.done():
                    waiting.set_exception(exc)

    async def _read(self, fetch: Callable[[], Awaitable[Sequence[Any]]]) -> Counters | None:
        return _counters(await fetch())


def _retrieve(future: asyncio.Future[Counters | None]) -> None:
    """Mark a failure as seen even when every waiter was cancelled meanwhile."""
    if not future.cancelled():
        future.exception()
