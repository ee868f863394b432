"""Host health: on which days deliveries to a host failed, and whether it is unreachable.

A host failing on enough distinct days (``federation.retry.host_is_unreachable``)
is marked unreachable, and its deliveries are then tried only every
``UNREACHABLE_RETRY_INTERVAL`` (``node.delivery_store``). Any success, a
delivery that landed or a signed request from the host, clears its failures
and brings its postponed deliveries forward, as Mastodon's
``DeliveryFailureTracker`` does (docs/interop.md#retries).

Most hosts are healthy, so each process remembers for a minute which hosts
have no failure on record, and a success to or from them costs no query.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.retry import host_is_unreachable
from node.db import dialect_insert
from node.models import Delivery, DomainHealth


class KnownHealthy:
    """Hosts lately seen with no failure on record, so that a signed request or a
    delivery from or to them needs no ``domain_health`` read. One per database
    (per engine), kept ``TTL`` seconds: a failure recorded by another process is
    noticed at most that late, harmless when a host is marked unreachable only
    after failures on three distinct days. A failure recorded here forgets the
    host at once; ``generation`` keeps a read that raced with it from
    re-remembering the host."""

    TTL = 60.0
    MAX_HOSTS = 10_000

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self.generation = 0

    def __contains__(self, host: str) -> bool:
        seen = self._seen.get(host)
        return seen is not None and time.monotonic() - seen < self.TTL

    def remember(self, hosts: Iterable[str], generation: int) -> None:
        if generation != self.generation:
            return
        now = time.monotonic()
        for host in hosts:
            self._seen.pop(host, None)  # re-inserted last: the dict stays oldest first
            self._seen[host] = now
        while len(self._seen) > self.MAX_HOSTS:
            del self._seen[next(iter(self._seen))]

    def forget(self, host: str) -> None:
        self._seen.pop(host, None)
        self.generation += 1


_known_healthy: WeakKeyDictionary[Engine, KnownHealthy] = WeakKeyDictionary()


def healthy_hosts(session: AsyncSession) -> KnownHealthy:
    """The hosts of ``session``'s database known healthy lately: a success to one
    of them needs no ``domain_health`` read."""
    engine = session.get_bind().engine  # a Connection's engine, or the Engine itself
    known = _known_healthy.get(engine)
    if known is None:
        known = _known_healthy[engine] = KnownHealthy()
    return known


async def note_failure(session: AsyncSession, domain: str, now: datetime) -> bool:
    """Note today's failure; True when the host is (now) considered unreachable."""
    healthy_hosts(session).forget(domain)
    health = await session.get(DomainHealth, domain, with_for_update=True, populate_existing=True)
    assert health is not None  # created and locked by lock_health
    today = now.astimezone(UTC).date().isoformat()
    if today not in (health.failure_days or []):
        health.failure_days = sorted({*(health.failure_days or []), today})
    days = {datetime.fromisoformat(day).date() for day in health.failure_days}
    if host_is_unreachable(days) and health.unreachable_since is None:
        health.unreachable_since = now
    return health.unreachable_since is not None


async def lock_health(
    session: AsyncSession, failed: dict[str, datetime], succeeded: dict[str, datetime]
) -> list[str]:
    """Lock, in one statement and in host order (so that concurrent writers never
    wait on each other in a cycle), the health rows this group will change: those
    of failing hosts (created if missing) and of succeeding hosts not known healthy.
    Returns the succeeding hosts whose failures are to be cleared: those with
    failures on record, or failing in this group before their latest success."""
    known = healthy_hosts(session)
    unknown = {host for host in succeeded if host not in known}
    if failed:
        await session.execute(
            dialect_insert(session)(DomainHealth)
            .values([{"domain": domain, "failure_days": []} for domain in sorted(failed)])
            .on_conflict_do_nothing(index_elements=["domain"])
        )
    involved = sorted(unknown | set(failed))
    if not involved:
        return []
    generation = known.generation
    rows = await session.execute(
        select(DomainHealth.domain, DomainHealth.failure_days, DomainHealth.unreachable_since)
        .where(DomainHealth.domain.in_(involved))
        .order_by(DomainHealth.domain)
        .with_for_update()
    )
    failing = {row.domain for row in rows.all() if row.failure_days or row.unreachable_since}
    known.remember((h for h in unknown if h not in failing and h not in failed), generation)
    return sorted(
        host
        for host in succeeded
        if (host in failing or host in failed)
        and (host not in failed or failed[host] <= succeeded[host])
    )


async def mark_host_reachable(session: AsyncSession, domain: str, now: datetime) -> None:
    """Clear a host's failures (a delivery landed or it sent us a signed request),
    and bring its postponed deliveries forward.

    Free in the common case: a host known healthy (``KnownHealthy``) costs no
    query; otherwise one unlocked read, and the host is remembered when it has
    nothing to clear.
    """
    known = healthy_hosts(session)
    if domain in known:
        return
    generation = known.generation
    health = await session.get(DomainHealth, domain)
    if health is None or (not health.failure_days and health.unreachable_since is None):
        known.remember([domain], generation)
        return
    await clear_failures(session, domain, now)


async def clear_failures(session: AsyncSession, domain: str, now: datetime) -> None:
    """The health row is locked before it is changed, so only one transaction does
    the bulk update, and that update skips deliveries other workers hold."""
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
