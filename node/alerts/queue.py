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


_BATCH = "tocsin.received_alerts"  # session.info: what ``queue_batched_alerts`` queues


def batch_received_alerts(session: AsyncSession) -> None:
    """Alerts for what is stored through ``session`` are queued together by
    ``queue_batched_alerts``, which the caller runs before committing."""
    session.info.setdefault(_BATCH, [])


async def queue_received_alerts(session: AsyncSession, row: Any) -> int:
    """Alerts for a callout or event just stored from a followed network: new
    ones, and callouts whose status changed (read from the row's unflushed
    history, so the caller needs no bookkeeping). Anything else: nothing.

    In a batch (``batch_received_alerts``) the change is only noted, and
    queued with the batch's others; returns 0 then."""
    found = _received_change(row)
    if found is None:
        return 0
    subject, change, urgent = found
    batched: list[tuple[str, Event | Callout, str, bool]] | None = session.info.get(_BATCH)
    if batched is not None:
        batched.append((subject, row, change, urgent))
        return 0
    return await _queue(session, subject, row, change, urgent=urgent)


def _received_change(row: Any) -> tuple[str, str, bool] | None:
    """(subject, change, urgent) of a received row worth an alert, else None."""
    now = datetime.now(UTC)
    if isinstance(row, Event):
        new = inspect(row).pending or inspect(row).transient
        if not new or row.ends_at <= now or row.status == "cancelled":
            return None
        return "event", "published", False
    if not isinstance(row, Callout):
        return None
    state = inspect(row)
    if state.pending or state.transient:
        previous = None
    else:
        history = state.attrs.status.history
        if not history.deleted:
            return None
        previous = history.deleted[0]
    change = callout_change(previous, row.status)
    if change is None or (change == "published" and row.ends_at <= now):
        return None
    return "callout", change, row.urgency == "urgent"


async def queue_batched_alerts(session: AsyncSession) -> int:
    """Queue the alerts noted in a batch: one flush, then one ``INSERT … SELECT``
    per kind of change (subject, change, urgency, local or not) for all the rows
    that had it. Returns how many alerts were queued."""
    batched: list[tuple[str, Event | Callout, str, bool]] = session.info.get(_BATCH) or []
    if not batched:
        return 0
    session.info[_BATCH] = []
    await session.flush()  # new rows get their ids
    groups: dict[tuple[str, str, bool, bool], set[int]] = {}
    for subject, row, change, urgent in batched:
        groups.setdefault((subject, change, urgent, bool(row.local)), set()).add(row.id)
    queued = 0
    for (subject, change, urgent, local), ids in groups.items():
        queued += await _insert(session, subject, sorted(ids), change, urgent=urgent, local=local)
    if queued:
        await notify_work(session)  # workers in other processes start at the commit
    return queued


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
    await session.flush()  # a new row gets its id
    queued = await _insert(session, subject, [row.id], change, urgent=urgent, local=row.local)
    if queued:
        await notify_work(session)  # workers in other processes start at the commit
    return queued


async def _insert(
    session: AsyncSession, subject: str, ids: list[int], change: str, *, urgent: bool, local: bool
) -> int:
    """One ``INSERT … SELECT``: ``change`` of each of ``ids`` for every subscription in scope."""
    if subject == "event" and change not in EVENT_CHANGES:
        raise ValueError(f"unknown event change {change!r}")
    model: type[Event] | type[Callout] = Event if subject == "event" else Callout
    now = datetime.now(UTC)
    chosen = (
        select(
            AlertSubscription.id,
            literal(subject),
            model.id,
            literal(change),
            literal("pending"),
            literal(0),
            literal(now, AlertJob.next_attempt_at.type),
            literal(now, AlertJob.created_at.type),
        )
        .select_from(AlertSubscription)
        .join(model, model.id.in_(ids))
    )  # each subject, everyone
    chosen = chosen.where(*_in_scope(subject, urgent=urgent, local=local))
    if subject == "callout" and change == "enough":  # "answer to be on standby": not
        # to those who answered "I can come" from their link (they know their place)
        answered = select(CalloutResponse.id).where(
            CalloutResponse.callout_id == Callout.id,
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
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
