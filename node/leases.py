"""Leases with an owner: what this process holds is kept alive by a heartbeat,
given back when it fails or stops, and freed by its successor when it dies.

A claimed row (a received activity, a delivery) carries ``locked_until`` and
``locked_by``, the name of the process holding it (host, pid and a random
token). The lease is short (``LEASE``); while the process lives, its heartbeat
extends the leases of the rows it still holds every ``HEARTBEAT`` seconds, one
UPDATE per table. So a process that dies, or hangs, loses its claims within
seconds, not minutes.

Each process also records itself in ``workers`` (``WorkerProcess``). A new
process frees, at start, the leases of the processes on its host that are
gone: an earlier incarnation with its own pid (a restarted container), or a
pid that no longer runs. The host name must therefore name the machine (or
container), as it does by default.

Claims a process gives back while the database is unreachable are given back
by its heartbeat as soon as the database answers again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.models import Delivery, InboundActivity, WorkerProcess

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=20)
HEARTBEAT = 5.0  # seconds; a few beats fit in one lease
FORGET_AFTER = timedelta(days=1)  # a worker row silent this long is removed
Leased = type[Delivery] | type[InboundActivity]
TABLES: tuple[Leased, ...] = (Delivery, InboundActivity)
PROCESS_STARTED = datetime.fromtimestamp(time.time(), UTC)  # before any lease of this process
DATABASE_DOWN = (SQLAlchemyError, OSError)


def pid_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def is_gone(worker: WorkerProcess, *, host: str, pid: int) -> bool:
    """Whether a recorded worker of this host no longer runs: it has our own pid
    but started before us (we replaced it), or its pid is not running."""
    if worker.host != host:
        return False
    if worker.pid == pid:
        return worker.started_at < PROCESS_STARTED
    return not pid_is_running(worker.pid)


class Leases:
    """The rows this process holds, by table, under its owner name."""

    def __init__(self, owner: str | None = None) -> None:
        self.host = socket.gethostname()[:200]
        self.pid = os.getpid()
        self.owner = owner or f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self._held: dict[Leased, set[int]] = {table: set() for table in TABLES}
        self._returning: dict[Leased, set[int]] = {table: set() for table in TABLES}

    def hold(self, table: Leased, ids: Iterable[int]) -> None:
        self._held[table].update(ids)

    def drop(self, table: Leased, ids: Iterable[int]) -> None:
        """These rows were finished (their outcome is written): nothing to renew."""
        self._held[table].difference_update(ids)

    def held(self, table: Leased) -> set[int]:
        return set(self._held[table])

    async def give_back(
        self, sessions: async_sessionmaker[AsyncSession], table: Leased, ids: Iterable[int]
    ) -> None:
        """Make unfinished claims claimable again at once; if the database is
        unreachable, the heartbeat retries (and the lease runs out meanwhile)."""
        ids = set(ids) & self._held[table]
        self._held[table] -= ids
        self._returning[table] |= ids
        try:
            await self._return_claims(sessions)
        except DATABASE_DOWN as exc:
            log.warning("could not give back %d claims yet: %s", len(ids), exc)

    async def _return_claims(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        for table, ids in self._returning.items():
            if not ids:
                continue
            async with sessions() as session, session.begin():
                await session.execute(
                    update(table)
                    .where(table.id.in_(sorted(ids)), table.locked_by == self.owner)
                    .where(table.state == "pending")
                    .values(locked_until=None, locked_by=None)
                    .execution_options(synchronize_session=False)
                )
            ids.clear()

    async def renew(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """One heartbeat: give back what is waiting to be, note that this process
        lives, and extend the lease of every row it holds (one UPDATE per table;
        rows locked by a write of their outcome are skipped: they are being let go)."""
        await self._return_claims(sessions)
        now = datetime.now(UTC)
        until = now + LEASE
        async with sessions() as session, session.begin():
            await session.execute(
                update(WorkerProcess)
                .where(WorkerProcess.id == self.owner)
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            for table, ids in self._held.items():
                if ids:
                    await _extend(session, table, sorted(ids), self.owner, until)

    async def start(self, sessions: async_sessionmaker[AsyncSession]) -> list[str]:
        """Record this process, and free the claims of the processes it finds gone
        (returned: their names)."""
        now = datetime.now(UTC)
        async with sessions() as session, session.begin():
            workers = (await session.scalars(select(WorkerProcess))).all()
            gone = sorted(
                w.id
                for w in workers
                if is_gone(w, host=self.host, pid=self.pid) or w.heartbeat_at < now - FORGET_AFTER
            )
            for table in TABLES:
                if gone:
                    await session.execute(
                        update(table)
                        .where(table.locked_by.in_(gone), table.state == "pending")
                        .values(locked_until=None, locked_by=None)
                        .execution_options(synchronize_session=False)
                    )
            if gone:
                await session.execute(delete(WorkerProcess).where(WorkerProcess.id.in_(gone)))
            session.add(
                WorkerProcess(
                    id=self.owner, host=self.host, pid=self.pid, started_at=now, heartbeat_at=now
                )
            )
        if gone:
            log.info("freed the claims of %d stopped worker(s): %s", len(gone), ", ".join(gone))
        return gone

    async def stop(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Give back everything still held and remove this process's record."""
        for table in TABLES:
            self._returning[table] |= self._held[table]
            self._held[table].clear()
        try:
            await self._return_claims(sessions)
            async with sessions() as session, session.begin():
                await session.execute(delete(WorkerProcess).where(WorkerProcess.id == self.owner))
        except DATABASE_DOWN as exc:  # the leases run out; the next start frees them
            log.warning("could not give back this process's claims: %s", exc)


async def _extend(
    session: AsyncSession, table: Leased, ids: list[int], owner: str, until: datetime
) -> None:
    mine = (
        select(table.id)
        .where(table.id.in_(ids), table.locked_by == owner, table.locked_until < until)
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(table)
        .where(table.id.in_(mine.scalar_subquery()))
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )


async def keep_alive(sessions: async_sessionmaker[AsyncSession], leases: Leases) -> None:
    """The heartbeat: runs until cancelled; a database outage only skips beats."""
    while True:
        await asyncio.sleep(HEARTBEAT)
        try:
            await leases.renew(sessions)
        except DATABASE_DOWN as exc:
            log.warning("lease heartbeat failed (retrying in %s s): %s", HEARTBEAT, exc)
