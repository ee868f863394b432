"""Queueing alerts, in the transaction of the change that causes them.

One ``INSERT … SELECT`` fans a change out to every subscription in scope, so
a callout with 10,000 subscribers costs one statement, and the jobs commit or
roll back with the change itself. The unique key of ``alert_jobs``
(subscription, subject, change) makes queueing the same change twice harmless.

Who is in scope:

- only confirmed subscriptions (e-mail addresses wait for their link);
- a callout: ``urgent`` subscribers only when it is urgent, ``callouts`` and
  ``everything`` always; a new event: ``everything`` only;
- something from another network: only subscribers who chose "also from the
  networks this one follows" (``federated``);
- "enough people": not those who answered "I can come" from their alert link
  (they are told their own place: ``queue_personal_alert``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.alerts.models import AlertJob, AlertSubscription
from node.alerts.words import CALLOUT_CHANGES, EVENT_CHANGES, PERSONAL_CHANGES, callout_change
from node.content.models import Callout, CalloutResponse, Event
from node.context import NodeContext
from node.db import dialect_insert
from node.wakeup import notify_work

_COLUMNS = [
    "subscription_id",
    "subject",
    "subject_id",
    "change",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
]


async def queue_callout_alerts(
    node: NodeContext, session: AsyncSession, callout: Callout, change: str
) -> int:
    """Queue ``change`` of ``callout`` (a key of ``CALLOUT_CHANGES``: "published",
    "confirmed", "enough", "met", "false-alarm", "cancelled", "reopened") for every
    subscription in scope; returns how many alerts were queued. The caller commits."""
    if change not in CALLOUT_CHANGES:
        raise ValueError(f"unknown callout change {change!r}")
    return await _queue(session, "callout", callout, change, urgent=callout.urgency == "urgent")


async def queue_event_alerts(node: NodeContext, session: AsyncSession, event: Event) -> int:
    """Queue the alert of a newly published event (scope "callouts and new events")."""
    return await _queue(session, "event", event, "published", urgent=False)


async def queue_received_alerts(session: AsyncSession, row: Any) -> int:
    """Alerts for a callout or event just stored from a followed network: new
    ones, and callouts whose status changed (read from the row's unflushed
    history, so the caller needs no bookkeeping). Anything else: nothing."""
    now = datetime.now(UTC)
    if isinstance(row, Event):
        new = inspect(row).pending or inspect(row).transient
        if not new or row.ends_at <= now or row.status == "cancelled":
            return 0
        return await _queue(session, "event", row, "published", urgent=False)
    if not isinstance(row, Callout):
        return 0
    state = inspect(row)
    if state.pending or state.transient:
        previous = None
    else:
        history = state.attrs.status.history
        if not history.deleted:
            return 0
        previous = history.deleted[0]
    change = callout_change(previous, row.status)
    if change is None or (change == "published" and row.ends_at <= now):
        return 0
    return await _queue(session, "callout", row, change, urgent=row.urgency == "urgent")


async def queue_personal_alert(
    session: AsyncSession, subscription_id: int, callout: Callout, change: str
) -> bool:
    """Queue one subscriber's ``change`` of ``PERSONAL_CHANGES`` ("you-confirmed", …)
    for ``callout``, in the caller's transaction; False when it was queued before
    (the unique key: a person is told each thing once) or the subscription is gone."""
    if change not in PERSONAL_CHANGES:
        raise ValueError(f"unknown personal change {change!r}")
    now = datetime.now(UTC)
    chosen = select(
        AlertSubscription.id,
        literal("callout"),
        literal(callout.id),
        literal(change),
        literal("pending"),
        literal(0),
        literal(now, AlertJob.next_attempt_at.type),
        literal(now, AlertJob.created_at.type),
    ).where(AlertSubscription.id == subscription_id, AlertSubscription.confirmed.is_(True))
    result = await session.execute(
        dialect_insert(session)(AlertJob)
        .from_select(_COLUMNS, chosen)
        .on_conflict_do_nothing(
            index_elements=["subscription_id", "subject", "subject_id", "change"]
        )
    )
    queued = max(int(getattr(result, "rowcount", 0) or 0), 0) > 0
    if queued:
        await notify_work(session)
    return queued


def _in_scope(subject: str, *, urgent: bool, local: bool) -> list[Any]:
    conditions: list[Any] = [AlertSubscription.confirmed.is_(True)]
    if subject == "event":
        conditions.append(AlertSubscription.scope == "everything")
    elif not urgent:
        conditions.append(AlertSubscription.scope != "urgent")
    if not local:
        conditions.append(AlertSubscription.federated.is_(True))
    return conditions


async def _queue(
    session: AsyncSession, subject: str, row: Event | Callout, change: str, *, urgent: bool
) -> int:
    if subject == "event" and change not in EVENT_CHANGES:
        raise ValueError(f"unknown event change {change!r}")
    await session.flush()  # a new row gets its id
    now = datetime.now(UTC)
    chosen = select(
        AlertSubscription.id,
        literal(subject),
        literal(row.id),
        literal(change),
        literal("pending"),
        literal(0),
        literal(now, AlertJob.next_attempt_at.type),
        literal(now, AlertJob.created_at.type),
    ).where(*_in_scope(subject, urgent=urgent, local=row.local))
    if subject == "callout" and change == "enough":  # "answer to be on standby": not
        # to those who answered "I can come" from their link (they know their place)
        answered = select(CalloutResponse.id).where(
            CalloutResponse.callout_id == row.id,
            CalloutResponse.subscription_id == AlertSubscription.id,
            CalloutResponse.option == "come",
        )
        chosen = chosen.where(~answered.exists())
    result = await session.execute(
        dialect_insert(session)(AlertJob)
        .from_select(_COLUMNS, chosen)
        .on_conflict_do_nothing(
            index_elements=["subscription_id", "subject", "subject_id", "change"]
        )
    )
    queued = max(int(getattr(result, "rowcount", 0) or 0), 0)
    if queued:
        await notify_work(session)  # workers in other processes start at the commit
    return queued
