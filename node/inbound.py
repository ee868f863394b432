"""Received activities: recorded before the 202, processed after it.

The inbox records each activity (see ``node.recorder``: one INSERT that does
nothing when the activity id was seen before, so replays have no second
effect) and kicks this process's ``InboundProcessor``, which claims recorded
rows with a lease and runs their handlers in the transaction that marks them
done, so an activity is processed exactly once even across crashes: a row
whose lease ran out is simply claimed again, by this process or a worker.
The lease is short and names its holder (``node.leases``): the process's
heartbeat keeps it alive while the batch is being processed, a batch that
fails half-way (the database connection dropped) gives back what it did not
finish, and a process that died is replaced by one that frees its claims.

Rows are claimed and processed in batches: one statement claims up to a
hundred (payloads included); on PostgreSQL their handlers share one
transaction for up to ``BATCH_SECONDS``, and one statement per outcome marks
them. Should any handler fail, that transaction is rolled back and its
activities are processed again one per transaction, so a failure stays with
its activity. Handlers therefore write only through the session they are
given (a second connection could wait on the batch's own locks). A batch that
was not full makes the next claim wait ``GATHER``, so that a busy inbox is
processed in full batches rather than in twos and threes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.as2 import parse_activity
from federation.errors import FederationError, MalformedError, TransientFetchError
from federation.inbox import ActivityRouter
from federation.retry import next_inbound_attempt
from node.leases import LEASE, Leases
from node.models import InboundActivity

log = logging.getLogger(__name__)

BATCH = 100
# After a batch that was not full, the next claim waits this long (``gathered``):
# under load, activities arrive a few per commit of the recorder, and a batch
# costs about as much as ten of its activities (the claim, the follows read,
# the flush, the marks, the commit), so claiming at every wake-up spent most
# of the processing on batches of two or three.
GATHER = 0.05
# how long one transaction keeps taking handlers: bounds how long a batch holds
# its locks (SQLite's single writer lock above all) when handlers are slow
BATCH_SECONDS = 0.2


C = TypeVar("C")


@dataclass(frozen=True)
class Claimed:
    id: int
    payload: dict[str, Any]
    attempts: int


class InboundProcessor(Generic[C]):
    """Claims and processes recorded activities; one per process (``NodeContext.inbound``).

    ``router`` says what each activity type means; ``handler_context(session)``
    makes what a handler gets besides the activity (``node.handlers.Inbound``);
    ``on_processed`` is called after a batch (its handlers may have queued work);
    ``before_commit(session)`` after a transaction's handlers, before it commits;
    ``prepare(session, payloads)`` when a transaction starts, with the payloads it
    may take (to read in one query what their handlers will ask one by one).
    ``shared_transactions``: whether handlers of one batch share a transaction
    (not on SQLite, whose single write lock would be held across their fetches).
    ``leases``: the process's, renewed by its heartbeat (by default its own).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        router: ActivityRouter[C],
        handler_context: Callable[[AsyncSession], C],
        *,
        shared_transactions: bool,
        on_processed: Callable[[], None],
        leases: Leases | None = None,
        before_commit: Callable[[AsyncSession], Awaitable[None]] | None = None,
        prepare: Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self.leases = leases or Leases()
        self._router = router
        self._handler_context = handler_context
        self._on_processed = on_processed
        self._before_commit = before_commit
        self._prepare = prepare
        self._shared = shared_transactions
        self._lock = asyncio.Lock()
        self._drainer: asyncio.Task[None] | None = None
        self._again = False
        self._next_claim = 0.0  # the loop's clock: when ``gathered`` lets a claim go

    def kick(self) -> None:
        """New rows were committed: process them soon, in the background."""
        self._again = True
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="inbound-drain")

    async def gathered(self) -> None:
        """Wait, if the last batch was not full, until ``GATHER`` after it, so that
        what arrives meanwhile is claimed together; at once otherwise."""
        wait = self._next_claim - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _drain(self) -> None:
        while True:
            self._again = False
            try:
                await self.gathered()
                handled = await self.run_once()
            except Exception:
                log.exception("processing received activities failed; the worker will retry")
                return
            if not handled and not self._again:
                return

    async def wait_idle(self) -> None:
        """Until what was kicked so far is processed (or failed)."""
        while self._drainer is not None and not self._drainer.done():
            await asyncio.shield(self._drainer)

    async def aclose(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer

    async def claim(self, *, limit: int) -> list[Claimed]:
        now = datetime.now(UTC)
        due = (
            select(InboundActivity.id)
            .where(
                InboundActivity.state == "pending",
                or_(InboundActivity.locked_until.is_(None), InboundActivity.locked_until < now),
            )
            .order_by(InboundActivity.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(InboundActivity)
                .where(InboundActivity.id.in_(due.scalar_subquery()))
                .values(
                    locked_until=now + LEASE,
                    locked_by=self.leases.owner,
                    attempts=InboundActivity.attempts + 1,
                )
                .returning(InboundActivity.id, InboundActivity.payload, InboundActivity.attempts)
                .execution_options(synchronize_session=False)
            )
            claimed = [Claimed(row_id, payload, attempts) for row_id, payload, attempts in result]
        self.leases.hold(InboundActivity, (item.id for item in claimed))
        return sorted(claimed, key=lambda item: item.id)

    async def run_once(self, limit: int = BATCH) -> int:
        """Claim and process one batch; returns how many activities it held."""
        async with self._lock:
            claimed = await self.claim(limit=limit)
            try:
                await self._process(claimed)
            finally:  # what is not finished (an error escaped) goes back at once
                ids = [item.id for item in claimed]
                await self.leases.give_back(self._sessions, InboundActivity, ids)
        full = len(claimed) >= limit or not claimed
        self._next_claim = 0.0 if full else asyncio.get_running_loop().time() + GATHER
        if claimed:
            self._on_processed()
        return len(claimed)

    async def _process(self, items: list[Claimed]) -> None:
        start = 0
        while start < len(items):
            end = start
            try:
                async with self._sessions() as session, session.begin():
                    outcomes: dict[int, str] = {}
                    if self._prepare is not None:
                        ahead = items[start:] if self._shared else items[start : start + 1]
                        await self._prepare(session, [item.payload for item in ahead])
                    deadline = time.monotonic() + BATCH_SECONDS
                    while end < len(items) and (
                        end == start or (self._shared and time.monotonic() < deadline)
                    ):
                        if end > start:
                            # let the event loop run between handlers: one that
                            # needs no round trip would otherwise hold it for the
                            # whole batch (in `tocsin run`, the 202s wait meanwhile)
                            await asyncio.sleep(0)
                        item = items[end]
                        end += 1
                        handled = await self._router.dispatch(
                            parse_activity(item.payload), self._handler_context(session)
                        )
                        outcomes[item.id] = "done" if handled else "ignored"
                    if self._before_commit is not None:
                        await self._before_commit(session)
                    await _mark(session, outcomes)
                self.leases.drop(InboundActivity, outcomes)
            except Exception as exc:
                if end - start == 1:
                    await self._failed(items[start], exc)
                else:  # find the one that failed: each again in its own transaction
                    for item in items[start:end]:
                        await self._process([item])
            start = end

    async def _failed(self, item: Claimed, exc: Exception) -> None:
        expected = isinstance(exc, FederationError)
        log.log(
            logging.INFO if expected else logging.ERROR,
            "processing inbound activity %s failed: %s",
            item.id,
            exc,
            exc_info=not expected,
        )
        decision = next_inbound_attempt(
            item.attempts,
            now=datetime.now(UTC),
            # malformed is permanent: the same payload would fail the same way again
            permanent=isinstance(exc, MalformedError),
            remote_busy=isinstance(exc, TransientFetchError),
        )
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(InboundActivity)
                .where(InboundActivity.id == item.id)
                .values(
                    error=f"{type(exc).__name__}: {exc}"[:1000],
                    state="failed" if decision.give_up else "pending",
                    # retry after a growing pause
                    locked_until=decision.retry_at,
                    locked_by=None,
                )
                .execution_options(synchronize_session=False)
            )
        self.leases.drop(InboundActivity, [item.id])


async def _mark(session: AsyncSession, outcomes: dict[int, str]) -> None:
    now = datetime.now(UTC)
    for state in ("done", "ignored"):
        ids = [row_id for row_id, outcome in outcomes.items() if outcome == state]
        if ids:
            await session.execute(
                update(InboundActivity)
                .where(InboundActivity.id.in_(ids))
                .values(
                    state=state, processed_at=now, locked_until=None, locked_by=None, error=None
                )
                .execution_options(synchronize_session=False)
            )
