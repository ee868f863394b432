"""Periodic jobs: the worker's work besides received activities and deliveries.

Each job is one pass over what is due, as a database state machine (claimed
rows, retried, never lost), and returns how much it did. The worker runs
every job on every pass (``node.worker``); a new kind of background work is a
new entry in ``JOBS``. A job must cost next to nothing when nothing is due.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from node.alerts.sender import send_due_alerts
from node.backfill import run_backfills
from node.blocklist_subscriptions import refresh_due
from node.content.callouts import publish_due_tallies
from node.content.responders import purge_responders
from node.context import NodeContext
from node.retention import purge_expired


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[NodeContext, datetime], Awaitable[int]]


JOBS: tuple[Job, ...] = (
    # coalesced tally Updates: at most one per callout every few seconds
    Job("tally updates", publish_due_tallies),
    # processed received activities past the retention window
    Job("retention purge", purge_expired),
    # who answered a callout, forgotten TOCSIN_RETENTION_DAYS after it ended
    Job("callout responders purge", purge_responders),
    # Web Push and e-mail alerts of callouts and events, sent concurrently
    Job("alerts", send_due_alerts),
    # subscribed block lists, each every few hours
    Job("block list refresh", refresh_due),
    # a network whose Accept just arrived: fetch its upcoming events and open callouts
    Job("backfill", run_backfills),
)


async def run_jobs(context: NodeContext, jobs: tuple[Job, ...] = JOBS) -> int:
    """One pass of every job; returns how many items they handled in all."""
    now = datetime.now(UTC)
    handled = 0
    for job in jobs:
        handled += await job.run(context, now)
    return handled
