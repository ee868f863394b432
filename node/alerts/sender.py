"""The worker's alerts job: claim due alerts, send them concurrently, record.

Like deliveries (``node.delivery_store``), jobs are claimed with a lease in one
``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, so any number of
workers share the queue; an outcome is written only while its lease holds, so
a job taken over after a crash is not recorded twice. A job is marked done in
the same statement that records its success: a retry of a failed job sends it
once more, a done job never again.

Up to ``IN_FLIGHT`` alerts are on the wire at once, so a callout reaches
thousands of subscribers in seconds. A push service answering 404 or 410 has
dropped the subscription: it is deleted (as Mastodon does). Other failures are
retried with ``next_alert_attempt`` until the callout has ended.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.alerts.deliver import Attempt, Courier
from node.alerts.models import AlertJob, AlertSubscription
from node.alerts.policy import next_alert_attempt
from node.alerts.render import AlertText, callout_alert, event_alert, personal_alert
from node.alerts.subscriptions import forget_stale
from node.alerts.words import PERSONAL_CHANGES
from node.content.models import Callout, Event
from node.context import NodeContext
from node.i18n import speaking

log = logging.getLogger(__name__)

BATCH = 500
IN_FLIGHT = 64
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Claimed:
    id: int
    subscription: AlertSubscription
    alert: AlertText | None  # None: its callout or event was deleted meanwhile
    attempts: int
    next_attempt_at: datetime
    lease: datetime


async def send_due_alerts(node: NodeContext, now: datetime) -> int:
    """One pass: send what is due; returns how many alerts were handled.

    Alerts speak the node's default language (``TOCSIN_LANGUAGE``): the worker
    answers no request, and a subscription does not record a language."""
    with speaking(node.settings.language):
        return await _send_due_alerts(node, now)


async def _send_due_alerts(node: NodeContext, now: datetime) -> int:
    claimed = await _claim(node, now)
    if not claimed:
        await forget_stale(node.sessions, now)
        return 0
    courier = await Courier.open(node)
    try:
        semaphore = asyncio.Semaphore(IN_FLIGHT)

        async def attempt(job: Claimed) -> tuple[Claimed, Attempt]:
            async with semaphore:
                return job, await courier.send(job.subscription, job.alert, now)

        results = await asyncio.gather(*(attempt(job) for job in claimed if job.alert))
    finally:
        await courier.aclose()
    orphans = [(job, Attempt.dropped()) for job in claimed if job.alert is None]
    await _record(node.sessions, [*results, *orphans], now)
    return len(claimed)


async def _claim(node: NodeContext, now: datetime) -> list[Claimed]:
    due = (
        select(AlertJob.id)
        .where(
            AlertJob.state == "pending",
            AlertJob.next_attempt_at <= now,
            or_(AlertJob.locked_until.is_(None), AlertJob.locked_until < now),
        )
        .order_by(AlertJob.next_attempt_at, AlertJob.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    lease = now + LEASE
    async with node.sessions() as session, session.begin():
        ids = (
            await session.scalars(
                update(AlertJob)
                .where(AlertJob.id.in_(due.scalar_subquery()))
                .values(locked_until=lease)
                .returning(AlertJob.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if not ids:
            return []
        rows = (
            await session.execute(
                select(AlertJob, AlertSubscription)
                .join(AlertSubscription, AlertSubscription.id == AlertJob.subscription_id)
                .where(AlertJob.id.in_(ids))
            )
        ).all()
        texts = await _texts(session, node.urls.base, [job for job, _ in rows])
    return [
        Claimed(job.id, sub, texts.get(job.id), job.attempts, job.next_attempt_at, lease)
        for job, sub in rows
    ]


async def _texts(session: AsyncSession, base: str, jobs: list[AlertJob]) -> dict[int, AlertText]:
    """Each job's alert, rendered once per (subject, change)."""
    wanted = {"callout": set(), "event": set()}  # type: dict[str, set[int]]
    for job in jobs:
        wanted[job.subject].add(job.subject_id)
    callouts = {
        c.id: c
        for c in (
            await session.scalars(select(Callout).where(Callout.id.in_(wanted["callout"])))
        ).all()
    }
    events = {
        e.id: e
        for e in (await session.scalars(select(Event).where(Event.id.in_(wanted["event"])))).all()
    }
    rendered: dict[tuple[str, int, str], AlertText] = {}
    texts: dict[int, AlertText] = {}
    for job in jobs:
        key = (job.subject, job.subject_id, job.change)
        if key not in rendered:
            if job.subject == "callout" and job.subject_id in callouts:
                callout = callouts[job.subject_id]
                if job.change in PERSONAL_CHANGES:
                    rendered[key] = personal_alert(base, callout, job.change)
                else:
                    rendered[key] = callout_alert(base, callout, job.change)
            elif job.subject == "event" and job.subject_id in events:
                rendered[key] = event_alert(base, events[job.subject_id], job.change)
            else:
                continue
        texts[job.id] = rendered[key]
    return texts


_JOBS = cast(Table, AlertJob.__table__)
_RECORD = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("_id"), _JOBS.c.locked_until == bindparam("_lease"))
    .values(
        locked_until=None,
        last_status=bindparam("_status"),
        state=bindparam("_state"),
        attempts=bindparam("_attempts"),
        next_attempt_at=bindparam("_next"),
        finished_at=bindparam("_finished"),
    )
)


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    results: list[tuple[Claimed, Attempt]],
    now: datetime,
) -> None:
    """Write every outcome whose lease still holds: one executemany, one transaction."""
    gone = sorted({job.subscription.id for job, attempt in results if attempt.gone})
    async with sessions() as session, session.begin():
        if results:
            await session.execute(
                _RECORD, [_outcome(job, attempt, now) for job, attempt in results]
            )
        if gone:
            log.info("push services dropped %d subscriptions; forgetting them", len(gone))
            await session.execute(delete(AlertSubscription).where(AlertSubscription.id.in_(gone)))


def _outcome(job: Claimed, attempt: Attempt, now: datetime) -> dict[str, object]:
    values: dict[str, object] = {
        "_id": job.id,
        "_lease": job.lease,
        "_status": attempt.status,
        "_state": "pending",
        "_attempts": job.attempts,
        "_next": job.next_attempt_at,
        "_finished": None,
    }
    if attempt.ok:
        return {**values, "_state": "done", "_finished": now}
    if attempt.final or job.alert is None:
        return {**values, "_state": "gave_up", "_finished": now}
    decision = next_alert_attempt(
        job.attempts + 1,
        status=attempt.status if job.subscription.channel == "push" else None,
        retry_after=attempt.retry_after,
        now=now,
        deadline=job.alert.ends_at,
    )
    values["_attempts"] = job.attempts + 1
    if decision.give_up:
        return {**values, "_state": "gave_up", "_finished": now}
    return {**values, "_next": decision.retry_at}
