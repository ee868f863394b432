"""Recording received activities with group commit.

Every 202 the inbox sends must mean "stored": the activity's row is committed
before the answer. Committing each POST on its own costs a transaction (and a
disk flush) per activity, which caps a busy inbox long before the CPU does. So
concurrent inbox requests hand their activity to one writer task per process,
which stores everything waiting in one multi-row ``INSERT … ON CONFLICT DO
NOTHING`` and one commit, then answers each request. Under light load a batch
is a single row and nothing waits; under heavy load the batches grow by
themselves, because requests queue up while the previous commit runs.

A batch that fails is retried row by row, so one bad row only fails its own
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.hosts import url_authority
from federation.inbox import VerifiedActivity
from node.db import dialect_insert
from node.host_health import mark_host_reachable
from node.models import InboundActivity
from node.wakeup import notify_work

log = logging.getLogger(__name__)

MAX_BATCH = 500


@dataclass
class _Waiting:
    values: dict[str, object]
    host: str
    answer: asyncio.Future[int | None]


class InboxRecorder:
    """One per process: ``await record(verified)`` returns the new row's id, or
    None when the activity id was recorded before (a replay)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_recorded: Callable[[], None] = lambda: None,
        notify_workers: bool = False,
    ) -> None:
        self._sessions = sessions
        self._on_recorded = on_recorded
        self._notify_workers = notify_workers
        self._waiting: list[_Waiting] = []
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    async def record(self, verified: VerifiedActivity) -> int | None:
        activity = verified.activity
        now = datetime.now(UTC)
        waiting = _Waiting(
            values={
                "uri": activity.id,
                "type": activity.type,
                "actor_uri": activity.actor,
                "payload": activity.raw,
                "state": "pending",
                "attempts": 0,
                "received_at": now,
            },
            # a signed request from a host shows it is up: its postponed deliveries resume
            host=url_authority(activity.actor),
            answer=asyncio.get_running_loop().create_future(),
        )
        # read the outcome even if the request is gone, so a failure is not reported as lost
        waiting.answer.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever(), name="inbox-recorder")
        self._ready.set()
        # shielded: a client hanging up must not cancel the commit of other requests' rows
        return await asyncio.shield(waiting.answer)

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        for waiting in self._waiting:
            if not waiting.answer.done():
                waiting.answer.set_exception(RuntimeError("the node is shutting down"))
        self._waiting.clear()

    async def _write_forever(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._waiting:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._write(batch)

    async def _write(self, batch: list[_Waiting]) -> None:
        try:
            ids = await self._insert(batch)
        except Exception as exc:
            if len(batch) > 1:
                log.warning("recording %d activities failed (%s); one by one now", len(batch), exc)
                for waiting in batch:
                    await self._write([waiting])
                return
            log.exception("could not record activity %s", batch[0].values["uri"])
            _answer(batch[0], exc)
            return
        first: set[str] = set()
        for waiting in batch:
            uri = str(waiting.values["uri"])
            row_id = ids.get(uri) if uri not in first else None  # a replay within the batch
            first.add(uri)
            _answer(waiting, row_id)
        if ids:
            self._on_recorded()

    async def _insert(self, batch: list[_Waiting]) -> dict[str, int]:
        unique: dict[str, dict[str, object]] = {}
        for waiting in batch:
            unique.setdefault(str(waiting.values["uri"]), waiting.values)
        now = datetime.now(UTC)
        table = InboundActivity.__table__
        async with self._sessions() as session, session.begin():
            # one statement for any number of rows: SQLAlchemy's "insertmanyvalues"
            # sends them as multi-row VALUES, compiled once whatever the count
            result = await session.execute(
                dialect_insert(session)(table)
                .on_conflict_do_nothing(index_elements=["uri"])
                .returning(table.c.uri, table.c.id),
                list(unique.values()),
            )
            ids = {uri: row_id for uri, row_id in result.all()}
            for host in sorted({waiting.host for waiting in batch}):
                await mark_host_reachable(session, host, now)
            if ids and self._notify_workers:
                await notify_work(session)
        return ids


def _answer(waiting: _Waiting, outcome: int | BaseException | None) -> None:
    if waiting.answer.done():
        return
    if isinstance(outcome, BaseException):
        waiting.answer.set_exception(outcome)
    else:
        waiting.answer.set_result(outcome)
