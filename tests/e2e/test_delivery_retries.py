"""The delivery queue end to end: fan-out, a server that is down, retries that resend the same
thing, and which answers are final.

Real nodes on loopback ports send to fake remote servers (or to each other)
over real HTTP. Workers are stepped with ``run_once`` and an injected clock,
so "time passing" is a ``now`` we choose, never a sleep. Helpers: ``tests.support.delivery``.
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select, update

from federation.retry import MAX_RETRIES
from node import follows
from node.blocks import block_domain
from node.identity import group_actor
from node.models import (
    Delivery,
    Follower,
    Following,
    OutboundActivity,
    RemoteActor,
)
from node.outbox import accepted_followers, enqueue, new_activity_id
from node.worker import Worker, run_worker
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.databases import empty_database
from tests.support.delivery import (
    FIRST_BACKOFF,
    Clock,
    Inbox,
    RemoteServer,
    count,
    deliveries,
    delivery_worker,
    follow_node,
    health,
    later,
    only_delivery,
    publish,
    serving,
)
from tests.support.fediverse import AS2
from tests.support.nodes import free_port, http_node, make_settings

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
