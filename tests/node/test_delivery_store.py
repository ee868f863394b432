"""The SQL delivery store's grouped writes and its memory of healthy hosts,
on SQLite and PostgreSQL: outcomes are kept only while this store holds the
row's lease, and a host known healthy costs no query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update

from federation.delivery import DeliveryJob, DeliveryResult, Outcome
from federation.retry import RetryDecision
from node.delivery_store import SqlDeliveryStore
from node.host_health import mark_host_reachable
from node.identity import group_actor
from node.models import Delivery, DomainHealth
from node.outbox import enqueue, new_activity_id
from tests.support.nodes import Node

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Inbox:
    inbox: str
    shared_inbox: str | None = None


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)


@contextmanager
def counting(node: Node) -> Iterator[Statements]:
    """Every SQL statement the node's engine sends meanwhile."""
    seen = Statements()

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.sql.append(statement)

    engine = node.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def queue(node: Node, inboxes: list[str]) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await enqueue(
            session,
            await group_actor(session),
            {"id": new_activity_id(node.ctx.urls), "type": "Create", "actor": "x"},
            recipients=[Inbox(url) for url in inboxes],
            own_host=node.settings.host,
        )


async def rows(node: Node) -> dict[str, Delivery]:
    async with node.ctx.sessions() as session:
        return {d.inbox_url: d for d in (await session.scalars(select(Delivery))).all()}


def later() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=1)


def done(job: DeliveryJob, now: datetime) -> Outcome:
    return Outcome(job, DeliveryResult(status=202), None, now)


def retry(job: DeliveryJob, now: datetime, status: int = 503) -> Outcome:
    decision = RetryDecision.at(now + timedelta(seconds=30), "retry")
    return Outcome(job, DeliveryResult(status=status, error="busy"), decision, now)


async def test_a_group_of_outcomes_is_written_and_late_ones_are_dropped(node: Node) -> None:
    hosts = ["a.example", "b.example", "c.example", "d.example"]
    await queue(node, [f"https://{h}/inbox" for h in hosts])
    store = SqlDeliveryStore(node.ctx.sessions, node.ctx.urls)
    t0 = later()
    jobs = {job.inbox_url: job for job in await store.claim(limit=10, now=t0, lease=LEASE)}
    assert len(jobs) == 4
    # c's lease ran out and another worker claimed it again; d's row is gone
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.inbox_url == "https://c.example/inbox")
            .values(locked_until=t0 + 2 * LEASE, locked_by="elsewhere:1:another")
        )
        d = await session.scalar(select(Delivery).where(Delivery.inbox_url.contains("d.")))
        await session.delete(d)
    now = t0 + timedelta(seconds=1)
    await store.record_many(
        [
            done(jobs["https://a.example/inbox"], now),
            retry(jobs["https://b.example/inbox"], now),
            done(jobs["https://c.example/inbox"], now),
            done(jobs["https://d.example/inbox"], now),
        ]
    )
    stored = await rows(node)
    a, b, c = (stored[f"https://{h}.example/inbox"] for h in "abc")
    assert (a.state, a.attempts, a.last_status, a.finished_at, a.locked_until) == (
        "done",
        0,
        202,
        now,
        None,
    )
    assert (b.state, b.attempts, b.last_status, b.last_error) == ("pending", 1, 503, "busy")
    assert (b.next_attempt_at, b.locked_until, b.finished_at) == (
        now + timedelta(seconds=30),
        None,
        None,
    )
    assert (c.state, c.attempts, c.locked_until) == ("pending", 0, t0 + 2 * LEASE)
    async with node.ctx.sessions() as session:
        health = await session.get(DomainHealth, "b.example")
    assert health is not None and health.failure_days == [now.date().isoformat()]


async def test_a_host_known_healthy_costs_no_query_until_it_fails(node: Node) -> None:
    now = datetime.now(UTC)
    async with node.ctx.sessions() as session:
        await mark_host_reachable(session, "healthy.example", now)  # read once, remembered
        with counting(node) as seen:
            await mark_host_reachable(session, "healthy.example", now)
        assert seen.sql == []

    await queue(node, ["https://healthy.example/inbox"])
    store = SqlDeliveryStore(node.ctx.sessions, node.ctx.urls)
    [job] = await store.claim(limit=1, now=later(), lease=LEASE)
    await store.record_many([retry(job, later())])  # a failure here forgets the host

    async with node.ctx.sessions() as session, session.begin():
        with counting(node) as seen:
            await mark_host_reachable(session, "healthy.example", now)
        assert seen.sql, "the failure must be read and cleared"
    async with node.ctx.sessions() as session:
        health = await session.get(DomainHealth, "healthy.example")
    assert health is not None and health.failure_days == []


async def test_successes_to_hosts_known_healthy_read_no_health_rows(node: Node) -> None:
    await queue(node, [f"https://h{n}.example/inbox" for n in range(3)])
    await queue(node, [f"https://h{n}.example/inbox" for n in range(3)])
    store = SqlDeliveryStore(node.ctx.sessions, node.ctx.urls)
    first = await store.claim(limit=3, now=later(), lease=LEASE)
    await store.record_many([done(job, later()) for job in first])
    second = await store.claim(limit=3, now=later(), lease=LEASE)
    with counting(node) as seen:
        await store.record_many([done(job, later()) for job in second])
    assert not any("domain_health" in sql for sql in seen.sql)
    assert {d.state for d in (await rows(node)).values()} == {"done"}


async def test_a_success_clears_the_failures_on_record_of_its_host(node: Node) -> None:
    await queue(node, ["https://flaky.example/inbox"])
    await queue(node, ["https://flaky.example/inbox", "https://fresh.example/inbox"])
    store = SqlDeliveryStore(node.ctx.sessions, node.ctx.urls)
    t0 = later()
    first, *rest = await store.claim(limit=3, now=t0, lease=LEASE)
    await store.record_many([retry(first, t0)])  # flaky.example: a failure on record
    async with node.ctx.sessions() as session:
        health = await session.get(DomainHealth, "flaky.example")
    assert health is not None and health.failure_days == [t0.date().isoformat()]

    t1 = t0 + timedelta(seconds=1)
    await store.record_many([done(job, t1) for job in rest])
    async with node.ctx.sessions() as session:
        health = await session.get(DomainHealth, "flaky.example")
        fresh = await session.get(DomainHealth, "fresh.example")
    assert health is not None and (health.failure_days, health.last_success_at) == ([], t1)
    assert fresh is None  # a host with nothing on record gets no row
    async with node.ctx.sessions() as session:
        states = sorted((await session.scalars(select(Delivery.state))).all())
    assert states == ["done", "done", "pending"]
