"""Unreachable servers: failures on three days mark a server unreachable, and a sign of life
(a signed request from it, a successful delivery) clears it and brings its deliveries forward.

Workers are stepped with ``run_once`` and an injected clock. Helpers: ``tests.support.delivery``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from federation.retry import UNREACHABLE_RETRY_INTERVAL
from node.models import Delivery
from node.worker import Worker
from tests.e2e.conftest import NodeFactory
from tests.support.delivery import (
    Clock,
    Inbox,
    RemoteServer,
    deliveries,
    delivery_worker,
    health,
    later,
    make_due,
    only_delivery,
    publish,
)
from tests.support.nodes import Node

# -- 5. unreachable servers -----------------------------------------------------------------


async def fail_on_three_days(node: Node, server: RemoteServer) -> tuple[Delivery, list[datetime]]:
    """Deliveries to ``server`` fail (503) on three distinct UTC days."""
    server.inbox_status = 503
    await publish(node, [Inbox(server.shared_inbox)])
    days = [later() + timedelta(days=n) for n in range(3)]
    for n, day in enumerate(days):
        assert await delivery_worker(node.ctx, Clock(day)).run_once() == 1
        row = await only_delivery(node)
        domain_health = await health(node, row.domain)
        assert domain_health is not None and row.attempts == n + 1
        assert len(domain_health.failure_days) == n + 1
        assert (domain_health.unreachable_since is None) == (n < 2), n
    return row, days


async def test_failures_on_three_days_mark_a_server_unreachable_and_new_deliveries_wait(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    first, days = await fail_on_three_days(node, remote)
    domain_health = await health(node, first.domain)
    assert domain_health is not None
    assert domain_health.unreachable_since == days[2]
    assert domain_health.failure_days == sorted(d.date().isoformat() for d in days)
    assert first.next_attempt_at >= days[2] + UNREACHABLE_RETRY_INTERVAL
    assert await delivery_worker(node.ctx, Clock(days[2] + timedelta(hours=1))).run_once() == 0

    before = datetime.now(UTC)
    await publish(node, [Inbox(remote.shared_inbox)])
    after = datetime.now(UTC)
    fresh = (await deliveries(node))[-1]
    assert fresh.id != first.id
    assert before + UNREACHABLE_RETRY_INTERVAL <= fresh.next_attempt_at
    assert fresh.next_attempt_at <= after + UNREACHABLE_RETRY_INTERVAL
    assert await Worker(node.ctx).run_once() == 0


async def test_signed_request_from_an_unreachable_server_clears_it_and_brings_deliveries_forward(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    alice = remote.add_account("alice")
    first, _ = await fail_on_three_days(node, remote)
    await publish(node, [Inbox(remote.shared_inbox)])

    like = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.new_id(),
        "type": "Like",
        "actor": alice.id,
        "object": node.actor_id,
    }
    before = datetime.now(UTC)
    assert (await alice.post(f"{node.base_url}/inbox", like)).status_code == 202
    after = datetime.now(UTC)
    domain_health = await health(node, first.domain)
    assert domain_health is not None
    assert (domain_health.unreachable_since, domain_health.failure_days) == (None, [])
    rows = await deliveries(node)
    assert len(rows) == 2
    assert all(before <= d.next_attempt_at <= after for d in rows)

    remote.inbox_status = 202
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 2
    assert {d.state for d in await deliveries(node)} == {"done"}


async def test_successful_delivery_to_an_unreachable_server_clears_it_and_brings_deliveries_forward(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    first, _ = await fail_on_three_days(node, remote)
    await publish(node, [Inbox(remote.shared_inbox)])
    second = (await deliveries(node))[-1]
    assert second.next_attempt_at > datetime.now(UTC) + timedelta(hours=5)

    remote.inbox_status = 202
    now = datetime.now(UTC)
    await make_due(node, [first.id], now)  # the 6-hourly probe comes round
    assert await delivery_worker(node.ctx, Clock(now)).run_once() == 1
    domain_health = await health(node, first.domain)
    assert domain_health is not None
    assert (domain_health.unreachable_since, domain_health.failure_days) == (None, [])
    assert domain_health.last_success_at == now
    first, second = await deliveries(node)
    assert first.state == "done"
    assert (second.state, second.next_attempt_at) == ("pending", now)
    assert await delivery_worker(node.ctx, Clock(now)).run_once() == 1
    assert [h.activity_id for h in remote.hits].count(remote.hits[-1].activity_id) == 1
