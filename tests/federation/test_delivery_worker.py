"""The worker's pass: it keeps claiming while work is due, never runs more than
``concurrency`` POSTs at once, and writes outcomes in groups, every one of them
exactly once, before ``run_once`` returns. A store in memory stands in for the
database (the SQL store is exercised end to end in tests/e2e); the POSTs go to
a real server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.delivery import MAX_UNWRITTEN, DeliveryJob, DeliveryWorker, Outcome
from federation.delivery_client import DeliveryClient
from tests.support.loopback import LoopbackServer, answer_ok

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)


class MemoryStore:
    """A ``DeliveryStore`` over a list of jobs; ``record_many`` may be held back."""

    def __init__(self, urls: list[str]) -> None:
        self.due = [
            DeliveryJob(n, url, b"{}", "https://tocsin.example/actor#main-key", PEM, 0)
            for n, url in enumerate(urls)
        ]
        self.claims: list[int] = []
        self.writes: list[list[Outcome]] = []
        self.hold: asyncio.Event | None = None

    async def claim(self, *, limit: int, now: datetime, lease: timedelta) -> list[DeliveryJob]:
        jobs, self.due = self.due[:limit], self.due[limit:]
        self.claims.append(len(jobs))
        return jobs

    async def record_many(self, outcomes: Sequence[Outcome]) -> None:
        self.writes.append(list(outcomes))
        if self.hold is not None:
            await self.hold.wait()


class CountingServer(LoopbackServer):
    """Answers 202 after a pause, keeping the highest number of requests it held at once."""

    def __init__(self) -> None:
        super().__init__(respond=self._answer)
        self.active = self.most_active = 0

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        await asyncio.sleep(0.01)
        self.active -= 1
        await answer_ok(reader, writer)


def worker(store: MemoryStore, client: DeliveryClient, concurrency: int) -> DeliveryWorker:
    return DeliveryWorker(store, client, concurrency=concurrency, clock=lambda: NOW)


async def test_a_pass_claims_until_nothing_is_due_with_at_most_concurrency_in_flight() -> None:
    async with CountingServer() as server, DeliveryClient(allow_private=True) as client:
        store = MemoryStore([f"http://127.0.0.1:{server.port}/u{n}/inbox" for n in range(50)])
        assert await worker(store, client, concurrency=4).run_once() == 50
    assert store.claims[0] == 8 and sum(store.claims) == 50 and store.claims[-1] == 0
    assert server.most_active <= 4
    assert len(server.received) == 50
    recorded = [o.job.id for write in store.writes for o in write]
    assert sorted(recorded) == list(range(50))
    assert all(o.result.status == 200 and o.decision is None for w in store.writes for o in w)


async def test_a_pass_stops_at_its_limit() -> None:
    async with CountingServer() as server, DeliveryClient(allow_private=True) as client:
        store = MemoryStore([f"http://127.0.0.1:{server.port}/inbox"] * 30)
        assert await worker(store, client, concurrency=4).run_once(limit=20) == 20
    assert sum(store.claims) == 20 and len(store.due) == 10
    assert sum(len(w) for w in store.writes) == 20


async def test_no_post_starts_while_concurrency_deliveries_wait_for_their_outcome_write() -> None:
    """A delivery is under way until its outcome is written: while the first
    write hangs, the worker sends no more than ``concurrency`` POSTs, which is
    the most a crash at that instant could send twice."""
    async with CountingServer() as server, DeliveryClient(allow_private=True) as client:
        store = MemoryStore([f"http://127.0.0.1:{server.port}/u{n}/inbox" for n in range(40)])
        store.hold = asyncio.Event()
        pass_ = DeliveryWorker(store, client, concurrency=8, initial_window=8, clock=lambda: NOW)
        running = asyncio.create_task(pass_.run_once())
        async with asyncio.timeout(10):
            while len(server.received) < 8:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # time enough for more POSTs, were any allowed
        sent_while_held = len(server.received)
        store.hold.set()
        assert await running == 40
    assert sent_while_held == 8
    assert len(server.received) == 40
    recorded = sorted(o.job.id for write in store.writes for o in write)
    assert recorded == list(range(40))


async def test_posts_pause_while_answered_deliveries_wait_for_their_write() -> None:
    """With room for 64 under way, a hanging write still stops new POSTs soon
    after ``MAX_UNWRITTEN`` answers are waiting for it."""
    async with CountingServer() as server, DeliveryClient(allow_private=True) as client:
        store = MemoryStore([f"http://127.0.0.1:{server.port}/u{n}/inbox" for n in range(200)])
        store.hold = asyncio.Event()
        pass_ = DeliveryWorker(store, client, concurrency=64, clock=lambda: NOW)
        running = asyncio.create_task(pass_.run_once())
        await asyncio.sleep(0.5)  # time enough for all 64, were they allowed
        sent_while_held = len(server.received)
        store.hold.set()
        assert await running == 200
    assert 0 < sent_while_held <= 2 * MAX_UNWRITTEN
    assert sorted(o.job.id for write in store.writes for o in write) == list(range(200))


async def test_a_pass_starts_with_a_small_window_and_widens_it_as_answers_come() -> None:
    async with CountingServer() as server, DeliveryClient(allow_private=True) as client:
        urls = [f"http://127.0.0.1:{server.port}/u{n}/inbox" for n in range(200)]
        store = MemoryStore(urls)
        pass_ = DeliveryWorker(store, client, concurrency=64, initial_window=2, clock=lambda: NOW)
        assert await pass_.run_once() == 200
    assert server.most_active > 2  # widened past where it began
    assert server.most_active <= 64


async def test_a_refused_target_is_recorded_as_given_up_without_a_connection() -> None:
    async with CountingServer() as server, DeliveryClient(allow_private=False) as client:
        store = MemoryStore([f"https://127.0.0.1:{server.port}/inbox"])
        assert await worker(store, client, concurrency=4).run_once() == 1
    [[outcome]] = store.writes
    assert outcome.result.refused
    assert outcome.decision is not None and outcome.decision.give_up
    assert server.connections == 0
