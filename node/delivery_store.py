"""The delivery queue in the database: the ``DeliveryStore`` the worker steps.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``
that sets a lease, so any number of workers on any number of machines share
the queue on PostgreSQL without ever holding the same row at once. (SQLite
serialises writers and ignores the lock clause; one process uses it.)

The lease names its holder (``locked_by``): the store's ``Leases`` keep what it
holds alive while the process lives (``node.leases``), an outcome is kept only
while its row is still held by this store, and claims a worker could not finish
are given back at once.

Outcomes also tell how each host is doing; that is kept by ``node.host_health``,
in the same transaction as the outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Integer, Table, bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.delivery import DeliveryJob, Outcome
from federation.hosts import url_authority
from federation.retry import UNREACHABLE_RETRY_INTERVAL, is_host_failure
from node.host_health import clear_failures, lock_health, note_failure
from node.leases import Leases
from node.models import (
    Delivery,
    LocalActor,
    OutboundActivity,
    RemoteActor,
    RemoteKey,
)
from node.urls import Urls

log = logging.getLogger(__name__)


class SqlDeliveryStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        urls: Urls,
        leases: Leases | None = None,
    ) -> None:
        """``leases``: the process's (renewed by its heartbeat); by default the
        store's own, which nothing renews."""
        self._sessions = sessions
        self._urls = urls
        self._leases = leases or Leases()

    async def claim(self, *, limit: int, now: datetime, lease: timedelta) -> list[DeliveryJob]:
        due = (
            select(Delivery.id)
            .where(
                Delivery.state == "pending",
                Delivery.next_attempt_at <= now,
                or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
            )
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        leased_until = now + lease
        async with self._sessions() as session, session.begin():
            claimed = await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(due.scalar_subquery()))
                .values(locked_until=leased_until, locked_by=self._leases.owner)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            ids = [row[0] for row in claimed.all()]
            if not ids:
                return []
            self._leases.hold(Delivery, ids)
            rows = await session.execute(
                select(
                    Delivery.id,
                    Delivery.inbox_url,
                    Delivery.attempts,
                    OutboundActivity.body,
                    LocalActor.username,
                    LocalActor.kind,
                    LocalActor.private_key_pem,
                )
                .join(OutboundActivity, OutboundActivity.id == Delivery.activity_id)
                .join(LocalActor, LocalActor.id == OutboundActivity.local_actor_id)
                .where(Delivery.id.in_(ids))
            )
            return [
                DeliveryJob(
                    id=row.id,
                    inbox_url=row.inbox_url,
                    body=row.body.encode("utf-8"),
                    key_id=self._urls.key_id(self._actor_id(row.username, row.kind)),
                    private_key_pem=row.private_key_pem,
                    attempts=row.attempts,
                    lease=leased_until,
                )
                for row in rows.all()
            ]

    def _actor_id(self, username: str, kind: str) -> str:
        return self._urls.instance_actor if kind == "application" else self._urls.actor(username)

    async def release(self, jobs: Sequence[DeliveryJob]) -> None:
        await self._leases.give_back(self._sessions, Delivery, [job.id for job in jobs])

    async def record_many(self, outcomes: Sequence[Outcome]) -> None:
        """Write a group of outcomes in one transaction: lock the rows, drop the
        outcomes of rows this store no longer holds, note host failures and
        successes once per host, then update every kept row with one executemany."""
        if not outcomes:
            return
        by_id = {o.job.id: o for o in outcomes}
        if all(o.decision is None for o in outcomes):
            await self._record_delivered(by_id)
        else:
            await self._record(by_id)
        self._leases.drop(Delivery, by_id)

    async def _record_delivered(self, by_id: dict[int, Outcome]) -> None:
        """The common group, every POST answered 2xx: one guarded UPDATE (a row this
        store no longer holds is left alone), then each host's health. Rows are
        locked before health rows, as in ``_record``."""
        kept = [(url_authority(o.job.inbox_url), o) for o in by_id.values()]
        succeeded = _latest_per_host(kept, failed=False)
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # one statement for the group, not an executemany of one per row
                await session.execute(_RECORD_DELIVERED_PG, _delivered_arrays(kept, self._leases))
            else:
                await session.execute(
                    _RECORD_HELD,
                    [_record_values(d, o, set()) | {"_owner": self._leases.owner} for d, o in kept],
                )
            for domain in await lock_health(session, {}, succeeded):
                await clear_failures(session, domain, succeeded[domain])

    async def _record(self, by_id: dict[int, Outcome]) -> None:
        async with self._sessions() as session, session.begin():
            rows = await session.execute(
                select(Delivery.id, Delivery.state, Delivery.locked_by, Delivery.domain)
                .where(Delivery.id.in_(list(by_id)))
                .order_by(Delivery.id)
                .with_for_update()
            )
            kept: list[tuple[str, Outcome]] = []
            for row in rows.all():  # a missing row was deleted meanwhile (domain blocked)
                if row.state != "pending" or row.locked_by != self._leases.owner:
                    # this worker's lease ran out and another worker took the row over
                    log.warning("dropping a late outcome for delivery %s", row.id)
                    continue
                kept.append((row.domain, by_id[row.id]))
            if not kept:
                return
            failed = _latest_per_host(kept, failed=True)
            succeeded = _latest_per_host(kept, failed=False)
            to_clear = await lock_health(session, failed, succeeded)
            unreachable = {d for d in sorted(failed) if await note_failure(session, d, failed[d])}
            await session.execute(_RECORD, [_record_values(d, o, unreachable) for d, o in kept])
            for domain in to_clear:  # after the UPDATE: clearing brings postponed rows forward
                await clear_failures(session, domain, succeeded[domain])
            gone = sorted({o.job.inbox_url for _, o in kept if _gave_up(o, 410)})
            if gone:
                await _forget_gone_inboxes(session, gone)


_DELIVERIES = cast(Table, Delivery.__table__)
_RECORD = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("_id"))
    .values(
        locked_until=None,
        locked_by=None,
        state=bindparam("_state"),
        last_status=bindparam("_status"),
        last_error=bindparam("_error"),
        attempts=_DELIVERIES.c.attempts + bindparam("_failed", type_=Integer),
        next_attempt_at=func.coalesce(
            bindparam("_next", type_=_DELIVERIES.c.next_attempt_at.type),
            _DELIVERIES.c.next_attempt_at,
        ),
        finished_at=bindparam("_finished", type_=_DELIVERIES.c.finished_at.type),
    )
)

# a delivered outcome is kept only while this store holds the row
_RECORD_HELD = _RECORD.where(
    _DELIVERIES.c.state == "pending", _DELIVERIES.c.locked_by == bindparam("_owner")
)

# the same for a group of delivered outcomes on PostgreSQL, the rows given as arrays
_RECORD_DELIVERED_PG = text(
    "UPDATE deliveries AS d SET locked_until = NULL, locked_by = NULL, state = 'done',"
    " last_status = u.status, last_error = u.error, finished_at = u.finished"
    " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:statuses AS INTEGER[]),"
    " CAST(:errors AS TEXT[]), CAST(:finished AS TIMESTAMPTZ[])) AS u(id, status, error, finished)"
    " WHERE d.id = u.id AND d.state = 'pending' AND d.locked_by = :owner"
)


def _delivered_arrays(kept: list[tuple[str, Outcome]], leases: Leases) -> dict[str, object]:
    outcomes = [o for _, o in kept]
    return {
        "ids": [o.job.id for o in outcomes],
        "statuses": [o.result.status for o in outcomes],
        "errors": [o.result.error for o in outcomes],
        "finished": [o.now for o in outcomes],
        "owner": leases.owner,
    }


def _record_values(domain: str, outcome: Outcome, unreachable: set[str]) -> dict[str, object]:
    result, decision, now = outcome.result, outcome.decision, outcome.now
    values: dict[str, object] = {
        "_id": outcome.job.id,
        "_status": result.status,
        "_error": result.error,
        "_failed": 0 if decision is None else 1,
        "_state": "done" if decision is None else "pending",
        "_next": None,
        "_finished": now if decision is None else None,
    }
    if decision is None:
        return values
    if decision.give_up:
        values.update(_state="gave_up", _finished=now)
        return values
    assert decision.retry_at is not None
    values["_next"] = decision.retry_at
    if domain in unreachable and is_host_failure(result.status):
        values["_next"] = max(decision.retry_at, now + UNREACHABLE_RETRY_INTERVAL)
    return values


def _gave_up(outcome: Outcome, status: int) -> bool:
    decision = outcome.decision
    return decision is not None and decision.give_up and outcome.result.status == status


def _latest_per_host(kept: list[tuple[str, Outcome]], *, failed: bool) -> dict[str, datetime]:
    """Host → the latest ``now`` among its successes, or among its host failures
    that will be retried (``failed``)."""
    latest: dict[str, datetime] = {}
    for domain, outcome in kept:
        decision = outcome.decision
        if failed:
            wanted = decision is not None and not decision.give_up
            wanted = wanted and is_host_failure(outcome.result.status)
        else:
            wanted = decision is None
        if wanted and (domain not in latest or outcome.now > latest[domain]):
            latest[domain] = outcome.now
    return latest


async def _forget_gone_inboxes(session: AsyncSession, inbox_urls: list[str]) -> None:
    """410 Gone from an actor's own inbox: the actor is gone, and its follows with it."""
    gone = (
        await session.scalars(select(RemoteActor.uri).where(RemoteActor.inbox.in_(inbox_urls)))
    ).all()
    await session.execute(delete(RemoteKey).where(RemoteKey.owner_uri.in_(gone)))
    await session.execute(delete(RemoteActor).where(RemoteActor.uri.in_(gone)))
