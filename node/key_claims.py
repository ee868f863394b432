"""One fetch of a signing key across all of a node's processes.

Within a process, ``node.remote.RemoteDirectory`` already makes requests
signed with one unknown key share a single fetch. With several processes
serving the inbox (``TOCSIN_WEB_WORKERS``, or several ``tocsin web``), two
copies of one actor's activity can reach two processes at the same moment,
and each would fetch the key. On PostgreSQL a process first takes a
session-level advisory lock named after the key: the process holding it reads
the stored key and fetches only when there is none; another process asking
for the same key polls the lock meanwhile, and then finds the key stored.

The locks live on one connection of their own in autocommit mode, so no
transaction stays open while a remote server answers (a slow server would
otherwise keep a pooled connection idle in a transaction), and a process that
dies releases its locks with its connection. The stored key is read on that
connection too: one round trip, without the ORM. If the connection fails,
claims are skipped (at worst a key is fetched twice) rather than refusing
inbox requests.

SQLite serves one process (``TOCSIN_WEB_WORKERS`` is refused there): no
claims, and the key is read through a session.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from federation.actors import Actor
from federation.errors import KeyUnavailableError
from node.remote_store import cached_key, store_signer

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02  # how often a process waiting for another's fetch asks again
WAIT_SECONDS = 30.0  # longer than any fetch may take (the fetcher's timeouts)
NAMESPACE = b"tocsin-key-fetch:"  # keeps these locks apart from any other advisory lock

_TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
_UNLOCK = "SELECT pg_advisory_unlock($1)"
_READ = "SELECT owner_uri, public_key_pem FROM remote_keys WHERE key_id = $1"
_FAILED = object()  # what ``_run`` gives when the claims connection cannot be used


def lock_number(key_id: str) -> int:
    """A signed 64-bit number for ``key_id``, the same in every process."""
    digest = hashlib.blake2b(NAMESPACE + key_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class KeyClaims:
    """``async with claims.hold(key_id)`` around reading, else fetching and
    storing, a key; ``stored`` reads it, ``store`` stores it."""

    def __init__(self, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._sessions = sessions
        self._postgres = engine.dialect.name == "postgresql"
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg's connection under it
        self._busy = asyncio.Lock()  # one statement at a time on that connection

    @asynccontextmanager
    async def hold(self, key_id: str) -> AsyncIterator[None]:
        if not self._postgres:
            yield
            return
        number = lock_number(key_id)
        locked = await self._try_lock(number, key_id)
        try:
            yield
        finally:
            if locked:
                await self._run(_UNLOCK, number)

    async def stored(self, key_id: str) -> tuple[str, str] | None:
        """(owner_uri, public_key_pem) of the stored key, if any."""
        if self._postgres:
            row = await self._run(_READ, key_id, fetch_row=True)
            if row is not _FAILED:
                return None if row is None else (row[0], row[1])
        async with self._sessions() as session:
            cached = await cached_key(session, key_id)
        return None if cached is None else (cached[0], cached[1])

    async def store(self, owner: Actor, key_id: str, pem: str) -> None:
        """Store a fetched key and its owner (before the claim is let go)."""
        await store_signer(self._engine, owner, key_id, pem)

    async def aclose(self) -> None:
        async with self._busy:
            await self._drop()

    async def _try_lock(self, number: int, key_id: str) -> bool:
        """Poll the lock until it is ours; False when claims cannot be had
        (no usable connection): go on without one."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            got = await self._run(_TRY_LOCK, number)
            if got is _FAILED:
                return False
            if got:
                return True
            if time.monotonic() > deadline:
                raise KeyUnavailableError(
                    f"another process has been fetching {key_id} for {WAIT_SECONDS:.0f} s",
                    public_message="could not fetch the signing key",
                )
            await asyncio.sleep(POLL_SECONDS)

    async def _run(self, sql: str, argument: object, *, fetch_row: bool = False) -> Any:
        """One statement on the claims connection; ``_FAILED`` when it cannot be run."""
        async with self._busy:
            try:
                driver = await self._driver_connection()
                if fetch_row:
                    return await driver.fetchrow(sql, argument)
                return await driver.fetchval(sql, argument)
            except Exception as exc:  # a dropped connection: reconnect next time
                log.warning("the key-claims connection failed (%s); going on without it", exc)
                await self._drop()
                return _FAILED

    async def _driver_connection(self) -> Any:
        if self._driver is None:
            connection = await self._engine.connect()
            try:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                raw = await connection.get_raw_connection()
                self._driver = raw.driver_connection
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        return self._driver

    async def _drop(self) -> None:
        connection, self._connection, self._driver = self._connection, None, None
        if connection is not None:
            try:
                await connection.invalidate()
                await connection.close()
            except Exception:
                log.debug("closing the key-claims connection failed", exc_info=True)
