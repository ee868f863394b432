"""Periodic jobs: the worker's work besides received activities and deliveries.

Each job is one pass over what is due, as a database state machine (claimed
rows, retried, never lost), and returns how much it did. The worker runs
every job on every pass (``node.worker``); a new kind of background work is a
new entry in ``JOBS``. A job must cost next to nothing when nothing is due.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from node.content.callouts import publish_due_tallies
from node.context import NodeContext
from node.models import InboundActivity

PURGE_EVERY = 60.0  # seconds between purges, per process
PURGE_BATCH = 500  # rows deleted per statement, so no purge holds locks for long
_last_purge: dict[int, float] = {}  # id(context) -> monotonic time of its last purge


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[NodeContext, datetime], Awaitable[int]]


async def purge_expired(context: NodeContext, now: datetime) -> int:
    """Delete processed received activities older than ``TOCSIN_RETENTION_DAYS``.

    A received payload names who sent it (a voter, a follower); once processed
    it is needed only to recognise a replay for a while. Pending ones are kept
    whatever their age. Runs at most every ``PURGE_EVERY`` seconds per process,
    in batches of ``PURGE_BATCH``; returns how many rows went.
    """
    clock = time.monotonic()
    if clock - _last_purge.get(id(context), -PURGE_EVERY) < PURGE_EVERY:
        return 0
    _last_purge[id(context)] = clock
    cutoff = now - timedelta(days=context.settings.retention_days)
    expired = (
        select(InboundActivity.id)
        .where(
            InboundActivity.state != "pending",
            func.coalesce(InboundActivity.processed_at, InboundActivity.received_at) < cutoff,
        )
        .limit(PURGE_BATCH)
    )
    purged = 0
    while True:
        async with context.sessions() as session, session.begin():
            ids = list((await session.scalars(expired)).all())
            if ids:
                await session.execute(delete(InboundActivity).where(InboundActivity.id.in_(ids)))
        purged += len(ids)
        if len(ids) < PURGE_BATCH:
            return purged


JOBS: tuple[Job, ...] = (
    # coalesced tally Updates: at most one per callout every few seconds
    Job("tally updates", publish_due_tallies),
    # processed received activities past the retention window
    Job("retention purge", purge_expired),
)


async def run_jobs(context: NodeContext, jobs: tuple[Job, ...] = JOBS) -> int:
    """One pass of every job; returns how many items they handled in all."""
    now = datetime.now(UTC)
    handled = 0
    for job in jobs:
        handled += await job.run(context, now)
    return handled
