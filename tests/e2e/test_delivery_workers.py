"""Delivery workers: concurrent workers and processes, leases of a worker that died
mid-delivery, and the key deliveries are signed with.

Workers are stepped with ``run_once`` and an injected clock. Helpers: ``tests.support.delivery``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from federation.delivery import DeliveryResult, DeliveryWorker, Outcome
from federation.hosts import url_authority
from federation.retry import RetryDecision
from node import follows
from node.delivery_store import SqlDeliveryStore
from node.models import DomainHealth
from node.runtime import node_context
from tests.e2e.conftest import NodeFactory
from tests.support.delivery import (
    Clock,
    Inbox,
    RemoteServer,
    deliveries,
    delivery_worker,
    health,
    later,
    only_delivery,
    publish,
)
from tests.support.nodes import Node

# -- 6. concurrent workers -----------------------------------------------------------------


async def drain(worker: DeliveryWorker, limit: int) -> int:
    handled = 0
    while attempted := await worker.run_once(limit=limit):
        handled += attempted
    return handled


async def one_batch_to_personal_inboxes(node: Node, server: RemoteServer, size: int) -> None:
    server.verify = False  # many requests: count them, skip the (slow) signature checks
    inboxes = [Inbox(f"{server.base}/users/u{n}/inbox") for n in range(size)]
    await publish(node, inboxes, shared_inboxes=False)


async def test_concurrent_successes_to_a_new_server_are_all_recorded(
    start_node: NodeFactory, remote: RemoteServer, db_kind: str, request: pytest.FixtureRequest
) -> None:
    node = await start_node(worker=False)
    await one_batch_to_personal_inboxes(node, remote, 30)
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 30
    assert Counter(d.state for d in await deliveries(node)) == {"done": 30}
    assert len(remote.hits) == 30


async def test_concurrent_failures_to_a_new_server_are_all_recorded(
    start_node: NodeFactory, remote: RemoteServer, db_kind: str, request: pytest.FixtureRequest
) -> None:
    node = await start_node(worker=False)
    remote.inbox_status = 503
    await one_batch_to_personal_inboxes(node, remote, 30)
    t0 = later()
    assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 30
    assert Counter((d.state, d.attempts) for d in await deliveries(node)) == {("pending", 1): 30}
    domain_health = await health(node, url_authority(remote.base))
    assert domain_health is not None and domain_health.failure_days == [t0.date().isoformat()]


async def test_concurrent_successes_to_a_recovering_server_are_all_recorded(
    start_node: NodeFactory, remote: RemoteServer, db_kind: str, request: pytest.FixtureRequest
) -> None:
    node = await start_node(worker=False)
    await one_batch_to_personal_inboxes(node, remote, 30)
    t0 = later()
    days = [(t0 - timedelta(days=n)).date().isoformat() for n in (2, 1, 0)]
    async with node.ctx.sessions() as session, session.begin():
        session.add(
            DomainHealth(domain=url_authority(remote.base), failure_days=days, unreachable_since=t0)
        )
    assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 30
    assert Counter(d.state for d in await deliveries(node)) == {"done": 30}
    domain_health = await health(node, url_authority(remote.base))
    assert domain_health is not None and domain_health.unreachable_since is None


async def test_two_worker_processes_deliver_every_activity_exactly_once(
    start_node: NodeFactory, remote: RemoteServer, db_kind: str
) -> None:
    if db_kind != "postgres":
        pytest.skip("workers in separate processes share the queue only on PostgreSQL")
    node = await start_node(worker=False)
    remote.verify, remote.delay = False, 0.005
    # one delivery lands first, so the server's health row exists (see HEALTH_ROW_RACE)
    await publish(node, [Inbox(f"{remote.base}/users/first/inbox")], shared_inboxes=False)
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 1
    remote.hits.clear()
    inboxes = [Inbox(f"{remote.base}/users/u{n}/inbox") for n in range(5)]
    activity_ids = await publish(node, inboxes, count=60, shared_inboxes=False)
    now = Clock(later())
    async with node_context(node.settings) as one, node_context(node.settings) as two:
        workers = [delivery_worker(ctx, now, concurrency=20) for ctx in (one, two)]
        handled = await asyncio.gather(*(drain(w, limit=25) for w in workers))

    assert sum(handled) == 300 and all(handled), handled
    sent = Counter((h.path, h.activity_id) for h in remote.hits)
    assert set(sent.values()) == {1}
    assert set(sent) == {
        (f"/users/u{n}/inbox", activity_id) for n in range(5) for activity_id in activity_ids
    }
    assert Counter(d.state for d in await deliveries(node)) == {"done": 301}


async def test_concurrent_claims_never_return_the_same_delivery(
    start_node: NodeFactory, db_kind: str
) -> None:
    if db_kind != "postgres":
        pytest.skip("SKIP LOCKED between processes needs PostgreSQL")
    node = await start_node(worker=False)
    inboxes = [Inbox(f"http://127.0.0.1:9/users/u{n}/inbox") for n in range(5)]
    await publish(node, inboxes, count=60, shared_inboxes=False)
    all_ids = {d.id for d in await deliveries(node)}
    lease = timedelta(minutes=5)
    start = later()
    async with node_context(node.settings) as one, node_context(node.settings) as two:
        stores = [SqlDeliveryStore(ctx.sessions, ctx.urls) for ctx in (one, two)]
        for round_, limit in enumerate((300, 200, 150, 100, 50, 20, 300, 7)):
            now = start + round_ * (lease + timedelta(seconds=1))  # every earlier lease ran out
            first, second = await asyncio.gather(
                *(store.claim(limit=limit, now=now, lease=lease) for store in stores)
            )
            a, b = {j.id for j in first}, {j.id for j in second}
            assert len(first) == len(a) <= limit and len(second) == len(b) <= limit
            assert not a & b, f"round {round_}: both claimed {sorted(a & b)}"
            assert a | b <= all_ids


# -- 7. a worker dies mid-delivery -----------------------------------------------------------


async def test_deliveries_of_a_killed_worker_are_claimed_again_after_the_lease(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    activity_ids = await publish(node, [Inbox(remote.shared_inbox)], count=3)
    lease = timedelta(minutes=5)
    t0 = later()
    async with node_context(node.settings) as doomed:
        jobs = await SqlDeliveryStore(doomed.sessions, doomed.urls).claim(
            limit=10, now=t0, lease=lease
        )
        assert len(jobs) == 3
    # that process died before recording anything
    assert {(d.state, d.attempts, d.locked_until) for d in await deliveries(node)} == {
        ("pending", 0, t0 + lease)
    }
    async with node_context(node.settings) as survivor:
        early = Clock(t0 + lease - timedelta(seconds=1))
        assert await delivery_worker(survivor, early).run_once() == 0
        assert remote.hits == []
        assert (
            await delivery_worker(survivor, Clock(t0 + lease + timedelta(seconds=1))).run_once()
            == 3
        )
    assert sorted(h.activity_id for h in remote.hits) == sorted(activity_ids)
    assert all(r.verified for r in remote.received)
    assert {(d.state, d.attempts, d.locked_until) for d in await deliveries(node)} == {
        ("done", 0, None)
    }


async def test_a_late_outcome_from_a_worker_whose_lease_ran_out_does_not_undo_a_delivery(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    await publish(node, [Inbox(remote.shared_inbox)])
    lease = timedelta(minutes=5)
    t0 = later()
    stalled = SqlDeliveryStore(node.ctx.sessions, node.ctx.urls)
    [job] = await stalled.claim(limit=10, now=t0, lease=lease)
    after_lease = t0 + lease + timedelta(seconds=1)
    assert await delivery_worker(node.ctx, Clock(after_lease)).run_once() == 1
    assert (await only_delivery(node)).state == "done"

    late = after_lease + timedelta(seconds=1)
    await stalled.record_many(
        [
            Outcome(
                job, DeliveryResult(status=400, error="bad request"), RetryDecision.stop("x"), late
            )
        ]
    )
    row = await only_delivery(node)
    assert (row.state, row.last_status, row.attempts) == ("done", 202, 0)


# -- 8. who signs ------------------------------------------------------------------------------


async def test_follow_and_accept_are_signed_with_the_group_actor_key(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node()  # with its worker
    alice = remote.add_account("alice")
    target = await node.ctx.directory.fetch_actor(alice.id)
    async with node.ctx.sessions() as session, session.begin():
        await follows.follow(node.ctx, session, target)
    node.ctx.wake()
    follow = await remote.wait_for(lambda r: r.activity["type"] == "Follow")

    assert (
        await alice.post(f"{node.actor_id}/inbox", alice.follow(node.actor_id))
    ).status_code == 202
    accept = await remote.wait_for(lambda r: r.activity["type"] == "Accept")
    for received in (follow, accept):
        assert received.verified, received.activity["type"]
        assert received.path == "/users/alice/inbox"
        assert received.activity["actor"] == node.actor_id
        assert received.signer_key_id == f"{node.actor_id}#main-key"
