"""Retention: what the node stops keeping, and when.

A received activity names who sent it (a voter, a follower); once processed,
its payload is needed only to recognise a replay for a while, so processed
rows go ``TOCSIN_RETENTION_DAYS`` after they were processed. Run by the
worker as one of ``node.jobs.JOBS``.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from node.context import NodeContext
from node.models import InboundActivity

PURGE_EVERY = 60.0  # seconds between purges, per process
PURGE_BATCH = 500  # rows deleted per statement, so no purge holds locks for long
_last_purge: dict[int, float] = {}  # id(context) -> monotonic time of its last purge


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
