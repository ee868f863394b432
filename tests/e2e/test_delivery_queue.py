"""The delivery queue end to end: fan-out, retries and backoff, final answers,
unreachable servers, leases and concurrent workers.

Real nodes on loopback ports send to fake remote servers (or to each other)
over real HTTP. Workers are stepped with ``run_once`` and an injected clock,
so "time passing" is a ``now`` we choose, never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from sqlalchemy import func, select, update
from starlette.requests import Request
from starlette.responses import Response

from federation.delivery import DeliveryResult, DeliveryWorker, Outcome
from federation.fanout import Recipient
from federation.hosts import url_authority
from federation.retry import MAX_RETRIES, UNREACHABLE_RETRY_INTERVAL, RetryDecision
from node import follows
from node.blocks import block_domain
from node.context import NodeContext
from node.delivery_store import SqlDeliveryStore
from node.identity import group_actor
from node.models import (
    Delivery,
    DomainHealth,
    Follower,
    Following,
    OutboundActivity,
    RemoteActor,
)
from node.outbox import accepted_followers, enqueue, new_activity_id
from node.runtime import node_context
from node.worker import Worker, run_worker
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.databases import empty_database
from tests.support.fediverse import AS2, Account, FakeServer
from tests.support.nodes import Node, free_port, http_node, make_settings

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ServerT = TypeVar("ServerT", bound=FakeServer)
FIRST_BACKOFF = (timedelta(seconds=15), timedelta(seconds=24))  # 0**4 + 15 + rand(10) * 1


# -- a remote server that keeps raw requests and answers from a script -------------------


@dataclass
class Hit:
    path: str
    body: bytes
    content_type: str
    activity_id: str


@dataclass
class RemoteServer(FakeServer):
    """A ``FakeServer`` that also keeps each inbox POST's raw bytes and content type,
    answers the next ``(status, headers)`` from ``answers`` (then ``inbox_status``),
    and can wait ``delay`` seconds per request or skip signature checks (``verify``)."""

    hits: list[Hit] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    verify: bool = True
    delay: float = 0.0

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()  # cached: the verifying handler reads it again
        activity_id = str(json.loads(body).get("id"))
        content_type = request.headers.get("content-type", "")
        self.hits.append(Hit(request.url.path, body, content_type, activity_id))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.verify:
            answer = await super()._inbox(request)
        else:
            answer = Response(status_code=self.inbox_status)
        if self.answers:
            status, headers = self.answers.pop(0)
            return Response(status_code=status, headers=headers)
        return answer


@asynccontextmanager
async def serving(server: ServerT) -> AsyncIterator[ServerT]:
    """Serve ``server`` on its own (possibly re-used) port until the block ends."""
    config = uvicorn.Config(
        server.app(), host=server.host, port=server.port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
                raise RuntimeError("fake server stopped during start-up")
            await asyncio.sleep(0.01)
        yield server
    finally:
        runner.should_exit = True
        await task


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    async with serving(RemoteServer("127.0.0.1", free_port())) as server:
        yield server


# -- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbox:
    """A recipient known only by its inbox (a ``federation.fanout.Recipient``)."""

    inbox: str
    shared_inbox: str | None = None


class Clock:
    """The worker's ``now``, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def later() -> datetime:
    """A ``now`` safely after every row enqueued so far (they are due at enqueue time)."""
    return datetime.now(UTC) + timedelta(minutes=1)


def delivery_worker(
    ctx: NodeContext, clock: Callable[[], datetime] | None = None, *, concurrency: int = 50
) -> DeliveryWorker:
    """A delivery worker on ``ctx`` with its own clock and a seeded jitter."""
    store = SqlDeliveryStore(ctx.sessions, ctx.urls)
    return DeliveryWorker(
        store, ctx.delivery_http, concurrency=concurrency, clock=clock, rng=random.Random(7)
    )


async def publish(
    node: Node,
    recipients: Iterable[Recipient],
    *,
    count: int = 1,
    shared_inboxes: bool = True,
) -> list[str]:
    """Queue ``count`` public Create{Note}s from the Group actor, in one transaction."""
    ctx = node.ctx
    recipients = list(recipients)
    ids = []
    async with ctx.sessions() as session, session.begin():
        actor = await group_actor(session)
        for _ in range(count):
            activity_id = new_activity_id(ctx.urls)
            note = {
                "id": f"{activity_id}/note",
                "type": "Note",
                "attributedTo": node.actor_id,
                "content": "<p>Eviction at 7am: 20 people needed.</p>",
                "to": [PUBLIC],
                "cc": [ctx.urls.followers(actor.username)],
            }
            activity = {
                "id": activity_id,
                "type": "Create",
                "actor": node.actor_id,
                "to": [PUBLIC],
                "cc": [ctx.urls.followers(actor.username)],
                "object": note,
            }
            await enqueue(
                session,
                actor,
                activity,
                recipients=recipients,
                shared_inboxes=shared_inboxes,
                public=True,
                object_uri=note["id"],
                own_host=ctx.settings.host,
            )
            ids.append(activity_id)
    return ids


async def deliveries(node: Node) -> list[Delivery]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def only_delivery(node: Node) -> Delivery:
    rows = await deliveries(node)
    assert len(rows) == 1, rows
    return rows[0]


async def health(node: Node, domain: str) -> DomainHealth | None:
    async with node.ctx.sessions() as session:
        return await session.get(DomainHealth, domain)


async def make_due(node: Node, ids: Iterable[int], when: datetime) -> None:
    """Time passes: these deliveries' next attempt has come."""
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.id.in_(list(ids))).values(next_attempt_at=when)
        )


async def count(node: Node, model: type[Follower] | type[RemoteActor]) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count(model.id))) or 0)


async def follow_node(node: Node, account: Account) -> None:
    """``account`` follows the node, and the Accept to its inbox is delivered."""
    queued = len(await deliveries(node))
    follow = account.follow(node.actor_id)
    assert (await account.post(f"{node.actor_id}/inbox", follow)).status_code == 202

    async def accept_queued() -> bool:  # the inbox processes the Follow after its 202
        return len(await deliveries(node)) == queued + 1

    await eventually(accept_queued)
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 1


# -- 1. fan-out ---------------------------------------------------------------------------


async def test_fan_out_sends_one_signed_copy_per_distinct_inbox_coalescing_shared_inboxes(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    async with serving(RemoteServer("127.0.0.1", free_port())) as other:
        names = ["alice", "bob", "carol"]
        accounts = [remote.add_account(name, i) for i, name in enumerate(names)]
        accounts.append(other.add_account("dave", 3))
        actors = [await node.ctx.directory.fetch_actor(a.id) for a in accounts]
        assert {a.shared_inbox for a in actors} == {remote.shared_inbox, other.shared_inbox}

        async with node.ctx.sessions() as session, session.begin():
            await block_domain(session, "blocked.example")
        elsewhere = [
            actors[0],  # a repeat changes nothing
            Inbox(node.ctx.urls.shared_inbox),  # this node itself
            Inbox("https://social.blocked.example/inbox"),
        ]
        [activity_id] = await publish(node, [*actors, *elsewhere])
        assert sorted(d.inbox_url for d in await deliveries(node)) == sorted(
            [remote.shared_inbox, other.shared_inbox]
        )

        assert await Worker(node.ctx).run_once() == 2
        async with node.ctx.sessions() as session:
            stored = await session.scalar(
                select(OutboundActivity.body).where(OutboundActivity.uri == activity_id)
            )
        assert stored is not None
        for server in (remote, other):
            assert [(h.path, h.activity_id) for h in server.hits] == [("/inbox", activity_id)]
            assert server.hits[0].content_type == AS2
            assert server.hits[0].body == stored.encode()
            [received] = server.received
            assert received.verified, "httpsig could not verify the delivery"
            assert received.signer_key_id == f"{node.actor_id}#main-key"
        assert {d.state for d in await deliveries(node)} == {"done"}


# -- 2. a server that is down -----------------------------------------------------------


async def test_delivery_to_a_server_that_is_down_is_retried_and_lands_when_it_is_back(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    down = RemoteServer("127.0.0.1", free_port())  # nothing listens on its port yet
    [activity_id] = await publish(node, [Inbox(down.shared_inbox)])
    t0 = later()

    assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1
    row = await only_delivery(node)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, None)
    assert t0 + FIRST_BACKOFF[0] <= row.next_attempt_at <= t0 + FIRST_BACKOFF[1]
    assert row.last_error and "ConnectError" in row.last_error
    assert await delivery_worker(node.ctx, Clock(t0 + timedelta(seconds=10))).run_once() == 0

    async with serving(down):
        assert await delivery_worker(node.ctx, Clock(t0 + timedelta(seconds=30))).run_once() == 1
    row = await only_delivery(node)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("done", 1, 202, None)
    assert [h.activity_id for h in down.hits] == [activity_id]
    assert down.received[0].verified
    domain_health = await health(node, row.domain)
    assert domain_health is not None and domain_health.failure_days == []


async def test_follow_sent_while_the_other_node_is_down_arrives_and_is_accepted_when_it_is_back(
    start_node: NodeFactory, db_kind: str, tmp_path: Path
) -> None:
    tenants = await start_node("tenants", worker=False)
    async with empty_database(db_kind, tmp_path) as borough_db:
        port = free_port()
        settings = make_settings(
            tmp_path, borough_db, name="borough", base_url=f"http://127.0.0.1:{port}"
        )
        async with http_node(settings, background=[run_worker]) as borough:
            borough_actor = borough.actor_id
            await tenants.ctx.directory.fetch_actor(borough_actor)
        # borough is down now: tenants follows it anyway
        async with tenants.ctx.sessions() as session, session.begin():
            target = await session.scalar(
                select(RemoteActor).where(RemoteActor.uri == borough_actor)
            )
            assert target is not None
            following = await follows.follow(tenants.ctx, session, target)
            follow_id = following.follow_uri
        t0 = later()
        assert await delivery_worker(tenants.ctx, Clock(t0)).run_once() == 1
        row = await only_delivery(tenants)
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.next_attempt_at >= t0 + FIRST_BACKOFF[0] and row.last_error

        async with http_node(settings, background=[run_worker]) as borough:
            retry = Clock(t0 + timedelta(minutes=1))
            assert await delivery_worker(tenants.ctx, retry).run_once() == 1
            assert (await only_delivery(tenants)).state == "done"

            async def accepted() -> bool:
                async with tenants.ctx.sessions() as session:
                    state = await session.scalar(
                        select(Following.state).where(Following.follow_uri == follow_id)
                    )
                return state == "accepted"

            await eventually(accepted)
            async with borough.ctx.sessions() as session:
                followers = (
                    await session.execute(
                        select(RemoteActor.uri, Follower.state, Follower.follow_uri).join(
                            Follower, Follower.remote_actor_id == RemoteActor.id
                        )
                    )
                ).all()
            assert [tuple(f) for f in followers] == [(tenants.actor_id, "accepted", follow_id)]


# -- 3. retries resend the same thing -----------------------------------------------------


async def test_retries_resend_the_same_activity_id_and_body(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    remote.answers = [(500, {})]  # then 202
    [activity_id] = await publish(node, [Inbox(remote.shared_inbox)])
    t0 = later()
    assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1
    row = await only_delivery(node)
    assert (row.state, row.attempts, row.last_status) == ("pending", 1, 500)
    assert await delivery_worker(node.ctx, Clock(t0 + timedelta(minutes=1))).run_once() == 1
    row = await only_delivery(node)
    assert (row.state, row.attempts, row.last_status) == ("done", 1, 202)

    first, second = remote.hits
    assert first.activity_id == second.activity_id == activity_id
    assert first.body == second.body
    assert [r.verified for r in remote.received] == [True, True]


# -- 4. which answers are final -------------------------------------------------------------


async def test_client_errors_other_than_401_408_429_are_final(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    t0 = later()
    for status in (400, 403, 404, 405, 422, 501):
        remote.answers = [(status, {})]
        await publish(node, [Inbox(remote.shared_inbox)])
        assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1, status
        row = (await deliveries(node))[-1]
        assert (row.state, row.attempts, row.last_status) == ("gave_up", 1, status)
        assert row.finished_at == t0
    assert await delivery_worker(node.ctx, Clock(t0 + timedelta(days=3))).run_once() == 0
    assert len(remote.hits) == 6
    # a server that refuses a delivery is up: that is no failure of the host
    domain_health = await health(node, row.domain)
    assert domain_health is None or domain_health.failure_days == []


async def test_401_408_429_and_5xx_are_retried(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    t0 = later()
    statuses = (401, 408, 429, 500, 502, 503, 504)
    for status in statuses:
        remote.answers = [(status, {})]
        await publish(node, [Inbox(remote.shared_inbox)])
        assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1, status
        row = (await deliveries(node))[-1]
        assert (row.state, row.attempts, row.last_status) == ("pending", 1, status)
        assert t0 + FIRST_BACKOFF[0] <= row.next_attempt_at <= t0 + FIRST_BACKOFF[1]
    retry = Clock(t0 + timedelta(minutes=1))
    assert await delivery_worker(node.ctx, retry).run_once() == len(statuses)
    assert {(d.state, d.attempts, d.last_status) for d in await deliveries(node)} == {
        ("done", 1, 202)
    }


async def test_a_delivery_gives_up_after_its_last_retry(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    remote.inbox_status = 500
    await publish(node, [Inbox(remote.shared_inbox)])
    row = await only_delivery(node)
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.id == row.id).values(attempts=MAX_RETRIES)
        )
    t0 = later()
    assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1
    row = await only_delivery(node)
    assert (row.state, row.attempts, row.finished_at) == ("gave_up", MAX_RETRIES + 1, t0)
    assert await delivery_worker(node.ctx, Clock(t0 + timedelta(days=7))).run_once() == 0


async def test_retry_after_on_429_and_503_postpones_the_retry(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    t0 = later().replace(microsecond=0)
    in_two_hours = format_datetime(t0 + timedelta(hours=2), usegmt=True)
    cases = [
        ((429, {"Retry-After": "3600"}), t0 + timedelta(hours=1)),
        ((429, {"Retry-After": in_two_hours}), t0 + timedelta(hours=2)),
        ((503, {"Retry-After": "600"}), t0 + timedelta(minutes=10)),
    ]
    for answer, not_before in cases:
        remote.answers = [answer]
        await publish(node, [Inbox(remote.shared_inbox)])
        assert await delivery_worker(node.ctx, Clock(t0)).run_once() == 1
        row = (await deliveries(node))[-1]
        assert (row.state, row.attempts) == ("pending", 1)
        assert not_before <= row.next_attempt_at < not_before + timedelta(seconds=1), answer
    assert await delivery_worker(node.ctx, Clock(t0 + timedelta(minutes=30))).run_once() == 1


async def test_410_from_a_personal_inbox_forgets_the_actor_and_its_follow(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    alice = remote.add_account("alice")
    bob = remote.add_account("bob", 1)
    for account in (alice, bob):
        await follow_node(node, account)
    assert await count(node, Follower) == 2

    remote.inbox_status = 410  # alice has deleted her account
    async with node.ctx.sessions() as session, session.begin():
        alice_row = await session.scalar(select(RemoteActor).where(RemoteActor.uri == alice.id))
        assert alice_row is not None
        await enqueue(
            session,
            await group_actor(session),
            {"id": new_activity_id(node.ctx.urls), "type": "Update", "actor": node.actor_id},
            recipients=[alice_row],
            shared_inboxes=False,
            own_host=node.settings.host,
        )
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 1
    row = (await deliveries(node))[-1]
    assert (row.inbox_url, row.state, row.attempts, row.last_status) == (
        alice.inbox,
        "gave_up",
        1,
        410,
    )
    async with node.ctx.sessions() as session:
        remaining = (
            await session.scalars(
                select(RemoteActor.uri).join(Follower, Follower.remote_actor_id == RemoteActor.id)
            )
        ).all()
        assert await session.scalar(select(RemoteActor).where(RemoteActor.uri == alice.id)) is None
    assert list(remaining) == [bob.id]


async def test_410_from_a_shared_inbox_forgets_no_one(
    start_node: NodeFactory, remote: RemoteServer
) -> None:
    node = await start_node(worker=False)
    alice = remote.add_account("alice")
    await follow_node(node, alice)

    remote.inbox_status = 410
    async with node.ctx.sessions() as session:
        followers = await accepted_followers(session, await group_actor(session))
    await publish(node, followers)
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 1
    row = (await deliveries(node))[-1]
    assert (row.inbox_url, row.state, row.last_status) == (remote.shared_inbox, "gave_up", 410)
    assert await count(node, Follower) == 1
    assert await count(node, RemoteActor) == 1


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
