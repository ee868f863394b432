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
in the same transaction as the outcomes. On PostgreSQL a claim, and a group of
delivered outcomes, is one statement committed on its own: one round trip
instead of four (BEGIN, two statements, COMMIT), each of which waited for a
turn of an event loop busy with hundreds of POSTs (bench/README.md, issue 18
part 5). A delivered group reads the health of the hosts it does not know
healthy in that same statement; the rare host with failures on record is then
cleared under lock in a transaction of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.delivery import DeliveryJob, Outcome
from federation.hosts import url_authority
from federation.retry import UNREACHABLE_RETRY_INTERVAL, is_host_failure
from node.host_health import clear_failures, healthy_hosts, lock_health, note_failure
from node.leases import Leases
from node.models import (
    Delivery,
    DomainHealth,
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
        leased_until = now + lease
        async with self._sessions() as session:
            if _is_postgresql(session):
                # one statement, committed on its own: a claim costs one round trip,
                # not four (BEGIN, UPDATE, SELECT, COMMIT) each waiting for a turn
                # of a busy event loop (bench/README.md, issue 18 part 5)
                await session.connection(execution_options=_AUTOCOMMIT)
                statement = _claim_pg(limit, now, leased_until, self._leases.owner)
                rows = (await session.execute(statement)).all()
                self._leases.hold(Delivery, [row.id for row in rows])
            else:
                async with session.begin():
                    rows = await self._claim_in_steps(session, limit, now, leased_until)
        return self._jobs(rows, leased_until)

    async def _claim_in_steps(
        self, session: AsyncSession, limit: int, now: datetime, leased_until: datetime
    ) -> Sequence[Any]:
        """SQLite: lease the due rows, then read what they need (no UPDATE in a CTE)."""
        claimed = await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(_due(limit, now).scalar_subquery()))
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
                Delivery.activity_id,
                OutboundActivity.body,
                LocalActor.username,
                LocalActor.kind,
                LocalActor.private_key_pem,
            )
            .join(OutboundActivity, OutboundActivity.id == Delivery.activity_id)
            .join(LocalActor, LocalActor.id == OutboundActivity.local_actor_id)
            .where(Delivery.id.in_(ids))
        )
        return rows.all()

    def _jobs(self, rows: Sequence[Any], leased_until: datetime) -> list[DeliveryJob]:
        """One job per row; an activity's body is encoded once and an actor's key id
        made once, so the jobs of one fan-out share them."""
        bodies: dict[int, bytes] = {}
        key_ids: dict[tuple[str, str], str] = {}
        jobs = []
        for row in rows:
            body = bodies.get(row.activity_id)
            if body is None:
                body = bodies[row.activity_id] = row.body.encode("utf-8")
            key_id = key_ids.get((row.username, row.kind))
            if key_id is None:
                key_id = self._urls.key_id(self._actor_id(row.username, row.kind))
                key_ids[(row.username, row.kind)] = key_id
            jobs.append(
                DeliveryJob(
                    id=row.id,
                    inbox_url=row.inbox_url,
                    body=body,
                    key_id=key_id,
                    private_key_pem=row.private_key_pem,
                    attempts=row.attempts,
                    lease=leased_until,
                )
            )
        return jobs

    def _actor_id(self, username: str, kind: str) -> str:
        return self._urls.instance_actor if kind == "application" else self._urls.actor(username)

    async def release(self, jobs: Sequence[DeliveryJob]) -> None:
        await self._leases.give_back(self._sessions, Delivery, [job.id for job in jobs])

    async def record_many(self, outcomes: Sequence[Outcome]) -> None:
        """Write a group of outcomes: drop those of rows this store no longer holds,
        note host failures and successes once per host, and update every kept row
        (a group of successes on PostgreSQL: one statement; otherwise one
        transaction that locks the rows and updates them with one executemany)."""
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
        store no longer holds is left alone), then each host's health."""
        kept = [(url_authority(o.job.inbox_url), o) for o in by_id.values()]
        succeeded = _latest_per_host(kept, failed=False)
        async with self._sessions() as session:
            if not _is_postgresql(session):
                async with session.begin():  # rows locked before health rows, as in _record
                    owner = {"_owner": self._leases.owner}
                    values = [_record_values(d, o, set()) | owner for d, o in kept]
                    await session.execute(_RECORD_HELD, values)
                    for domain in await lock_health(session, {}, succeeded):
                        await clear_failures(session, domain, succeeded[domain])
                return
            failing = await self._record_delivered_pg(session, kept, succeeded)
        if failing:  # rare: hosts that failed lately answered again
            async with self._sessions() as session, session.begin():
                to_clear = {host: succeeded[host] for host in failing}
                for domain in await lock_health(session, {}, to_clear):
                    await clear_failures(session, domain, to_clear[domain])

    async def _record_delivered_pg(
        self, session: AsyncSession, kept: list[tuple[str, Outcome]], succeeded: dict[str, Any]
    ) -> set[str]:
        """PostgreSQL: the group's UPDATE as one statement committed on its own (one
        round trip, not four), which also reads the health of the hosts not known
        healthy. Returns those with failures on record, for the caller to clear
        under lock in a transaction of their own (``lock_health`` reads them again)."""
        await session.connection(execution_options=_AUTOCOMMIT)
        known = healthy_hosts(session)
        unknown = sorted(host for host in succeeded if host not in known)
        values = _delivered_arrays(kept, self._leases)
        if not unknown:
            await session.execute(_RECORD_DELIVERED_PG, values)
            return set()
        generation = known.generation
        rows = await session.execute(_RECORD_DELIVERED_READ_HEALTH_PG, values | {"hosts": unknown})
        failing = {row.domain for row in rows.all() if row.failure_days or row.unreachable_since}
        known.remember((host for host in unknown if host not in failing), generation)
        return failing

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
_DELIVERED_PG = (
    "UPDATE deliveries AS d SET locked_until = NULL, locked_by = NULL, state = 'done',"
    " last_status = u.status, last_error = u.error, finished_at = u.finished"
    " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:statuses AS INTEGER[]),"
    " CAST(:errors AS TEXT[]), CAST(:finished AS TIMESTAMPTZ[])) AS u(id, status, error, finished)"
    " WHERE d.id = u.id AND d.state = 'pending' AND d.locked_by = :owner"
)
_RECORD_DELIVERED_PG = text(_DELIVERED_PG)

# ... and, in the same statement, the health of the hosts not known healthy
_HEALTH = cast(Table, DomainHealth.__table__)
_RECORD_DELIVERED_READ_HEALTH_PG = text(
    f"WITH delivered AS ({_DELIVERED_PG} RETURNING d.id)"  # noqa: S608 (constants only)
    " SELECT domain, failure_days, unreachable_since FROM domain_health"
    " WHERE domain = ANY(CAST(:hosts AS TEXT[]))"
).columns(_HEALTH.c.domain, _HEALTH.c.failure_days, _HEALTH.c.unreachable_since)

_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def _is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _due(limit: int, now: datetime) -> Select[int]:
    """The ids of up to ``limit`` deliveries due at ``now`` that no worker holds."""
    return (
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


def _claim_pg(limit: int, now: datetime, leased_until: datetime, owner: str) -> Select[Any]:
    """PostgreSQL: lease the due rows and read what their jobs need, in one statement."""
    claimed = (
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id.in_(_due(limit, now).scalar_subquery()))
        .values(locked_until=leased_until, locked_by=owner)
        .returning(
            _DELIVERIES.c.id,
            _DELIVERIES.c.inbox_url,
            _DELIVERIES.c.attempts,
            _DELIVERIES.c.activity_id,
        )
        .cte("claimed")
    )
    return (
        select(
            claimed.c.id,
            claimed.c.inbox_url,
            claimed.c.attempts,
            claimed.c.activity_id,
            OutboundActivity.body,
            LocalActor.username,
            LocalActor.kind,
            LocalActor.private_key_pem,
        )
        .join_from(claimed, OutboundActivity, OutboundActivity.id == claimed.c.activity_id)
        .join(LocalActor, LocalActor.id == OutboundActivity.local_actor_id)
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
