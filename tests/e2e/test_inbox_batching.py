"""The inbox under concurrency: requests share commits (group commit), the
processor takes activities in batches, a failing activity stays with itself,
and votes never wait on their callout's row."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from node.content import callouts as co
from node.content.models import Callout, CalloutResponse
from node.inbound import GATHER
from node.models import Follower, InboundActivity, OutboundActivity
from node.runtime import node_context
from node.worker import run_worker
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.clients import loopback_client
from tests.support.databases import empty_database
from tests.support.fediverse import Account, FakeServer
from tests.support.nodes import Node, free_port, http_node, make_settings
from tests.support.published import publish_callout, vote


async def inbound_states(node: Node) -> Counter[str]:
    async with node.ctx.sessions() as session:
        states = await session.scalars(select(InboundActivity.state))
        return Counter(states.all())


async def count(node: Node, statement: Any) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(statement) or 0)


async def post_all(node: Node, posts: list[tuple[Account, dict[str, Any]]]) -> list[int]:
    inbox = f"{node.base_url}/inbox"
    async with loopback_client(timeout=30) as client:  # SQLite serialises the key stores

        async def one(account: Account, activity: dict[str, Any]) -> int:
            body = json.dumps(activity).encode()
            headers = account.signed_headers(inbox, body)
            return (await client.post(inbox, content=body, headers=headers)).status_code

        return list(await asyncio.gather(*(one(a, act) for a, act in posts)))


async def test_concurrent_follows_are_all_recorded_processed_and_answered(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    accounts = [fediverse.add_account(f"user{n}", key_index=n % 3) for n in range(20)]
    statuses = await post_all(node, [(a, a.follow(node.actor_id)) for a in accounts])
    assert statuses == [202] * 20

    async def all_done() -> bool:
        return await inbound_states(node) == Counter({"done": 20})

    await eventually(all_done)
    assert await count(node, select(func.count()).select_from(Follower)) == 20

    async def all_accepted() -> bool:
        return sum(r.activity["type"] == "Accept" for r in fediverse.received) == 20

    await eventually(all_accepted)


async def test_concurrent_replays_of_one_activity_take_effect_once(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    assert await post_all(node, [(alice, follow)] * 20) == [202] * 20
    await node.ctx.inbound.wait_idle()
    assert await inbound_states(node) == Counter({"done": 1})
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    await asyncio.sleep(0.3)  # a second Accept would have been sent by now
    assert sum(r.activity["type"] == "Accept" for r in fediverse.received) == 1


async def test_a_failing_activity_does_not_undo_the_others_in_its_batch(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node(worker=False)
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    # followed, so her Create is taken; its object lives where nothing answers
    await post_all(node, [(alice, alice.follow(node.actor_id))])
    await node.ctx.inbound.wait_idle()
    unreachable = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.new_id(),
        "type": "Create",
        "actor": alice.id,
        "object": f"{fediverse.base}/gone/1",  # the fake server answers 404 here
    }
    rows = [bob.follow(node.actor_id), unreachable, {**bob.follow(node.actor_id)}]
    async with node.ctx.sessions() as session, session.begin():
        for activity in rows:
            session.add(
                InboundActivity(
                    uri=activity["id"],
                    type=activity["type"],
                    actor_uri=activity["actor"],
                    payload=activity,
                    state="pending",
                    attempts=0,
                    received_at=datetime.now(UTC),
                )
            )
    assert await node.ctx.inbound.run_once() == 3
    async with node.ctx.sessions() as session:
        result = await session.execute(
            select(InboundActivity.uri, InboundActivity.state, InboundActivity.error).where(
                InboundActivity.uri.in_([a["id"] for a in rows])
            )
        )
        outcome = {uri: (state, error) for uri, state, error in result.all()}
    assert outcome[rows[0]["id"]] == ("done", None)
    assert outcome[rows[2]["id"]] == ("done", None)
    state, error = outcome[unreachable["id"]]
    assert state == "pending" and error is not None  # retried later, after a pause
    assert await count(node, select(func.count()).select_from(Follower)) == 2  # alice, bob


async def test_web_process_leaves_received_activities_to_the_worker_process(
    db_kind: str, tmp_path: Path, fediverse: FakeServer
) -> None:
    if db_kind != "postgres":
        pytest.skip("on SQLite the web process processes what it records (one process)")
    alice = fediverse.add_account("alice")
    async with empty_database(db_kind, tmp_path) as database_url:
        port = free_port()
        settings = make_settings(tmp_path, database_url, base_url=f"http://127.0.0.1:{port}")
        async with http_node(settings, process_inbox=False) as web:
            follow = alice.follow(web.actor_id)
            assert await post_all(web, [(alice, follow)]) == [202]
            await web.ctx.inbound.wait_idle()
            assert await inbound_states(web) == Counter({"pending": 1})
            async with node_context(settings) as worker_process:
                worker = asyncio.create_task(run_worker(worker_process))
                try:
                    accept = await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
                finally:
                    worker.cancel()
            assert accept.activity["object"]["id"] == follow["id"]
            assert await inbound_states(web) == Counter({"done": 1})


async def test_a_help_vote_is_counted_while_its_callout_row_is_locked(
    start_node: NodeFactory, fediverse: FakeServer, db_kind: str
) -> None:
    if db_kind != "postgres":
        pytest.skip("row locks are PostgreSQL's (SQLite locks the whole database)")
    node = await start_node()
    callout = await publish_callout(node)
    alice = fediverse.add_account("alice")
    async with node.ctx.engine.connect() as locker:
        transaction = await locker.begin()
        await locker.execute(
            # the lock an edit or the tally job takes
            text("SELECT id FROM callouts WHERE id = :id FOR NO KEY UPDATE"),
            {"id": callout.id},
        )
        # "I can help another way" writes only its own row; "I can come" decides who
        # is confirmed, so it takes the callout's lock and waits for an edit to end
        vote_ = vote(alice, callout.uri, "I can help another way")
        assert await post_all(node, [(alice, vote_)]) == [202]

        async def counted() -> bool:
            responses = select(func.count()).select_from(CalloutResponse)
            return await count(node, responses) == 1

        await eventually(counted, timeout=10)  # not waiting for the lock
        await transaction.rollback()


async def test_tally_job_publishes_only_when_the_responses_changed(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node(worker=False)
    callout = await publish_callout(node)
    voters = [fediverse.add_account(f"voter{n}", key_index=n % 3) for n in range(5)]
    posts = [
        (v, vote(v, callout.uri, "I can come" if n % 2 else "I can help another way"))
        for n, v in enumerate(voters)
    ]
    assert await post_all(node, posts) == [202] * 5
    await node.ctx.inbound.wait_idle()
    async with node.ctx.sessions() as session:
        stored = await session.get(Callout, callout.id)
        assert stored is not None and (stored.come_count, stored.help_count) == (0, 0)
    now = datetime.now(UTC) + timedelta(minutes=1)
    assert await co.publish_due_tallies(node.ctx, now) == 1
    async with node.ctx.sessions() as session:
        stored = await session.get(Callout, callout.id)
        assert stored is not None and (stored.come_count, stored.help_count) == (2, 3)
    updates = select(func.count()).where(OutboundActivity.type == "Update")
    assert await count(node, updates) == 1
    assert await co.publish_due_tallies(node.ctx, now + timedelta(minutes=1)) == 0
    assert await count(node, updates) == 1


@pytest.mark.batching_pauses
async def test_after_a_batch_that_was_not_full_the_next_claim_waits_to_gather_more(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node(worker=False)
    alice = fediverse.add_account("alice")
    follows = [alice.follow(node.actor_id) for _ in range(3)]
    async with node.ctx.sessions() as session, session.begin():
        for activity in follows:
            session.add(
                InboundActivity(
                    uri=activity["id"],
                    type=activity["type"],
                    actor_uri=activity["actor"],
                    payload=activity,
                    state="pending",
                    attempts=0,
                    received_at=datetime.now(UTC),
                )
            )
    processor = node.ctx.inbound
    loop = asyncio.get_running_loop()
    assert await processor.run_once() == 3  # fewer than a batch: the next one waits
    started = loop.time()
    await processor.gathered()
    assert loop.time() - started >= GATHER * 0.9
    assert await processor.run_once() == 0  # nothing: the next claim goes at once
    started = loop.time()
    await processor.gathered()
    assert loop.time() - started < GATHER / 2
