"""The delivery queue in the database: the ``DeliveryStore`` the worker steps.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``
that sets a lease, so any number of workers on any number of machines share
the queue on PostgreSQL without ever holding the same row at once. (SQLite
serialises writers and ignores the lock clause; one process uses it.)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.delivery import DeliveryJob, DeliveryResult
from federation.retry import (
    UNREACHABLE_RETRY_INTERVAL,
    RetryDecision,
    host_is_unreachable,
    is_host_failure,
)
from node.db import dialect_insert
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
    def __init__(self, sessions: async_sessionmaker[AsyncSession], urls: Urls) -> None:
        self._sessions = sessions
        self._urls = urls

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
                .values(locked_until=leased_until)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            ids = [row[0] for row in claimed.all()]
            if not ids:
                return []
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

    async def record(
        self,
        job: DeliveryJob,
        result: DeliveryResult,
        decision: RetryDecision | None,
        now: datetime,
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(Delivery, job.id, with_for_update=True)
            if row is None:  # deleted meanwhile (the domain was blocked)
                return
            if row.state != "pending" or (job.lease is not None and row.locked_until != job.lease):
                # this worker's lease ran out and another worker took the row over
                log.warning("dropping a late outcome for delivery %s", job.id)
                return
            row.locked_until = None
            row.last_status = result.status
            row.last_error = result.error
            if decision is None:
                row.state, row.finished_at = "done", now
                await _host_succeeded(session, row.domain, now)
                return
            row.attempts += 1
            if decision.give_up:
                row.state, row.finished_at = "gave_up", now
                if result.status == 410:
                    await _forget_gone_inbox(session, row.inbox_url)
                return
            assert decision.retry_at is not None
            row.next_attempt_at = decision.retry_at
            if is_host_failure(result.status) and await _host_failed(session, row.domain, now):
                row.next_attempt_at = max(row.next_attempt_at, now + UNREACHABLE_RETRY_INTERVAL)


async def _health(session: AsyncSession, domain: str) -> DomainHealth:
    """The host's health row, created if missing (race-free), locked for this transaction."""
    await session.execute(
        dialect_insert(session)(DomainHealth)
        .values(domain=domain, failure_days=[])
        .on_conflict_do_nothing(index_elements=["domain"])
    )
    health = await session.get(DomainHealth, domain, with_for_update=True, populate_existing=True)
    assert health is not None
    return health


async def _host_failed(session: AsyncSession, domain: str, now: datetime) -> bool:
    """Note today's failure; True when the host is (now) considered unreachable."""
    health = await _health(session, domain)
    today = now.astimezone(UTC).date().isoformat()
    if today not in (health.failure_days or []):
        health.failure_days = sorted({*(health.failure_days or []), today})
    days = {datetime.fromisoformat(day).date() for day in health.failure_days}
    if host_is_unreachable(days) and health.unreachable_since is None:
        health.unreachable_since = now
    return health.unreachable_since is not None


async def _host_succeeded(session: AsyncSession, domain: str, now: datetime) -> None:
    await mark_host_reachable(session, domain, now)


async def mark_host_reachable(session: AsyncSession, domain: str, now: datetime) -> None:
    """Clear a host's failures (a delivery landed or it sent us a signed request),
    and bring its postponed deliveries forward.

    Cheap when there is nothing to clear (the common case: one unlocked read).
    The health row is locked before it is changed, so only one transaction does
    the bulk update, and that update skips deliveries other workers hold.
    """
    health = await session.get(DomainHealth, domain)
    if health is None or (not health.failure_days and health.unreachable_since is None):
        return
    health = await session.get(DomainHealth, domain, with_for_update=True, populate_existing=True)
    assert health is not None
    was_unreachable = health.unreachable_since is not None
    health.failure_days, health.unreachable_since, health.last_success_at = [], None, now
    if was_unreachable:
        postponed = (
            select(Delivery.id)
            .where(Delivery.domain == domain, Delivery.state == "pending")
            .with_for_update(skip_locked=True)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(postponed.scalar_subquery()))
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )


async def _forget_gone_inbox(session: AsyncSession, inbox_url: str) -> None:
    """410 Gone from an actor's own inbox: the actor is gone, and its follows with it."""
    gone = (
        await session.scalars(select(RemoteActor.uri).where(RemoteActor.inbox == inbox_url))
    ).all()
    await session.execute(delete(RemoteKey).where(RemoteKey.owner_uri.in_(gone)))
    await session.execute(delete(RemoteActor).where(RemoteActor.uri.in_(gone)))
