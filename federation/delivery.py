"""The delivery worker: claim due deliveries, POST them signed, record the outcome.

Where deliveries are stored is the application's business (``DeliveryStore``);
this module owns the wire: signing, the POST (through the guarded
:class:`~federation.delivery_client.DeliveryClient`), and turning the answer
into a retry decision with the pure policy in ``retry.py``.

A claimed row carries a lease (``locked_until``): a worker that dies
mid-delivery loses nothing, the row is claimed again when the lease expires.
The lease is short; the store keeps it alive while its process lives, and a
pass that fails gives back (``DeliveryStore.release``) what it could not finish.

One pass (``run_once``) claims the next batch while its deliveries run, until
nothing is due or the pass's limit is reached. A delivery is *under way* from
the start of its POST until its outcome is written, and at most ``concurrency``
are under way at once (``_Window``): that is the most a worker killed at any
instant can leave answered but unrecorded, i.e. the worst case of POSTs sent
twice after a crash (the receiver drops them by activity id). How many may be
under way starts small and widens as answers come back, like TCP's slow start,
but narrows while the event loop lags behind: then answers arrive faster than
this process reads and records them, and each extra POST under way would add
latency and a possible duplicate, not throughput.

Each outcome is written as soon as it comes: whichever delivery finishes while
fewer than ``writers`` writes are running writes everything finished so far in
one call, so a thousand outcomes take tens of transactions, not a thousand.
The writer goes first: no POST starts while ``MAX_UNWRITTEN`` answered
deliveries wait for a writer to take them, and a write is what frees their
places. Outcomes a write has taken are not counted there: with several writers
at once (PostgreSQL), the writes under way alone held 16 outcomes, so POSTs
paused while nothing was behind (bench/README.md, issue 18).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.as2 import AS_ACCEPT, AS_MEDIA_TYPE
from federation.cavage import PostSigner
from federation.delivery_client import DeliveryClient
from federation.errors import UnsafeTargetError
from federation.hosts import url_authority
from federation.keys import load_own_private_key
from federation.retry import RetryDecision, next_attempt

log = logging.getLogger(__name__)

# short: the store renews it while the worker lives, so a dead worker's claims
# come back within seconds
DEFAULT_LEASE = timedelta(seconds=20)
DEFAULT_CONCURRENCY = 128  # deliveries under way at most: the worst case of duplicates
INITIAL_WINDOW = 8  # deliveries under way when a pass starts
MIN_WINDOW = 8
LAG_PROBE = 0.005  # seconds between looks at the event loop
LOOP_LAG = 0.020  # a look this late means the loop is behind: narrow the window
MAX_UNWRITTEN = 16  # answered, no writer has taken the outcome yet: past this, no POST starts


@dataclass(frozen=True)
class DeliveryJob:
    id: int
    inbox_url: str
    body: bytes
    key_id: str
    private_key_pem: str
    attempts: int  # failed attempts before this one
    lease: datetime | None = None  # the claim's lease; a result is kept only under it


@dataclass(frozen=True)
class DeliveryResult:
    status: int | None  # None: no HTTP answer (network error, timeout, refused target)
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False  # the target is not allowed (private address, bad scheme): final

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Outcome:
    """A finished attempt: what happened, and what to do next (``decision`` None: done)."""

    job: DeliveryJob
    result: DeliveryResult
    decision: RetryDecision | None
    now: datetime


class DeliveryStore(Protocol):
    async def claim(self, *, limit: int, now: datetime, lease: timedelta) -> list[DeliveryJob]:
        """Lease up to ``limit`` due deliveries that no other worker holds."""
        ...

    async def record_many(self, outcomes: Sequence[Outcome]) -> None:
        """Store each outcome (done, retry later, or given up) if its row is still
        under the lease it was claimed with; a late outcome is dropped."""
        ...

    async def release(self, jobs: Sequence[DeliveryJob]) -> None:
        """Give back claims whose outcome will not be recorded (the pass failed),
        so that any worker may claim them at once."""
        ...


async def post_signed(
    client: DeliveryClient, job: DeliveryJob, signer: PostSigner
) -> DeliveryResult:
    """One signed POST of the job's exact body; never raises for remote failures.

    A target that may not be contacted, or an inbox URL that cannot be signed
    for or parsed, is ``refused``: asking again would get the same answer. The
    request target signed is the one aiohttp sends (``raw_path_qs`` of the URL
    it is given), so the two cannot disagree.
    """
    try:
        target = client.target(job.inbox_url)
    except UnsafeTargetError as exc:
        return DeliveryResult(status=None, error=str(exc)[:500], refused=True)
    host = url_authority(job.inbox_url)
    if not host:
        return DeliveryResult(status=None, error="unusable inbox URL: no host", refused=True)
    headers = {"Content-Type": AS_MEDIA_TYPE, "Accept": AS_ACCEPT}
    headers.update(signer.sign(host, target.raw_path_qs, job.body, AS_MEDIA_TYPE))
    try:
        answer = await client.post(target, job.body, headers)
    except UnsafeTargetError as exc:
        return DeliveryResult(status=None, error=str(exc), refused=True)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return DeliveryResult(status=None, error=f"{_failure_kind(exc)}: {exc}"[:500])
    return DeliveryResult(
        status=answer.status, error=answer.error_text, retry_after=answer.retry_after
    )


def _failure_kind(exc: Exception) -> str:
    """A short, library-neutral name for why no answer came."""
    if isinstance(exc, TimeoutError):
        return "Timeout"
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionError):
        return "ConnectError"
    return type(exc).__name__


class _Window:
    """How many deliveries may be under way (POST started, outcome not written).

    ``size`` moves between ``MIN_WINDOW`` and ``limit``: ``widen`` by one per
    answer while it is what holds POSTs back (so it doubles each round of
    answers), ``narrow`` by a quarter. Nothing is ever under way beyond
    ``limit``; and no POST starts while ``MAX_UNWRITTEN`` answered deliveries
    wait for a writer to take their outcome, so the writer goes first.
    """

    def __init__(self, limit: int, initial: int) -> None:
        self.limit = limit
        self.size = max(1, min(initial, limit))
        self.used = 0
        self.unwritten = 0  # of ``used``: answered, outcome not yet taken by a writer
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        while self.used >= self.size or self.unwritten >= MAX_UNWRITTEN:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    self._waiters.remove(waiter)
        self.used += 1

    def answered(self) -> None:
        self.unwritten += 1

    def taken(self, count: int) -> None:
        """A writer took ``count`` outcomes: they are being written."""
        self.unwritten -= count
        self._wake()

    def release(self, count: int) -> None:
        """``count`` outcomes were written."""
        self.used -= count
        self._wake()

    def widen(self) -> None:
        """One more, if the window is what holds POSTs back (not the writer)."""
        if self.used >= self.size and self.unwritten < MAX_UNWRITTEN and self.size < self.limit:
            self.size += 1
            self._wake()

    def narrow(self) -> None:
        self.size = max(min(MIN_WINDOW, self.size), self.size * 3 // 4)

    def _wake(self) -> None:
        free = self.size - self.used
        if self.unwritten >= MAX_UNWRITTEN:
            return
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


async def _pace(window: _Window, behind: list[bool]) -> None:
    """Look at the event loop every ``LAG_PROBE``: a look that comes more than
    ``LOOP_LAG`` late narrows the window and stops it widening until one comes on time."""
    while True:
        began = time.monotonic()
        await asyncio.sleep(LAG_PROBE)
        behind[0] = time.monotonic() - began - LAG_PROBE > LOOP_LAG
        if behind[0]:
            window.narrow()


class DeliveryWorker:
    """Steps the queue: ``run_once()`` is one deterministic pass, for tests and loops alike."""

    def __init__(
        self,
        store: DeliveryStore,
        client: DeliveryClient,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        writers: int = 1,
        initial_window: int = INITIAL_WINDOW,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.concurrency = concurrency  # deliveries under way at most: POST started, not written
        self.writers = writers  # outcome writes at once (more than one: PostgreSQL)
        self.initial_window = initial_window
        self.lease = lease
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng
        self._window = _Window(concurrency, initial_window)
        self._behind = [False]  # the event loop lags (``_pace``)
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._signers: dict[tuple[str, str], PostSigner] = {}  # (key PEM, key id)
        self._finished: list[Outcome] = []
        self._writing = 0  # writes under way
        self._unrecorded: dict[int, DeliveryJob] = {}  # claimed, outcome not yet written

    def _signer(self, job: DeliveryJob) -> PostSigner:
        signer = self._signers.get((job.private_key_pem, job.key_id))
        if signer is None:
            key = self._keys.get(job.private_key_pem)
            if key is None:
                key = self._keys[job.private_key_pem] = load_own_private_key(job.private_key_pem)
            signer = self._signers[(job.private_key_pem, job.key_id)] = PostSigner(job.key_id, key)
        return signer

    async def run_once(self, limit: int = 1000) -> int:
        """Deliver what is due now, up to ``limit`` deliveries, and record every
        outcome before returning; returns how many deliveries were attempted."""
        attempted = 0
        running: set[asyncio.Task[None]] = set()
        self._window = _Window(self.concurrency, self.initial_window)
        pacer = asyncio.create_task(_pace(self._window, self._behind))
        try:
            while attempted < limit:
                batch = min(2 * self.concurrency, limit - attempted)
                jobs = await self.store.claim(limit=batch, now=self.clock(), lease=self.lease)
                if not jobs:
                    break
                attempted += len(jobs)
                self._unrecorded.update((job.id, job) for job in jobs)
                running.update(asyncio.create_task(self._deliver(job)) for job in jobs)
                # claim the next batch once every claimed job could be under way
                while len(running) > self.concurrency:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    _raise_first(done)
            if running:
                _raise_first((await asyncio.wait(running))[0])
                running = set()
            await self._write_finished()
        finally:
            pacer.cancel()
            for task in running:
                task.cancel()
            await self._give_back_unrecorded()
        return attempted

    async def _give_back_unrecorded(self) -> None:
        """After a failed pass: what was claimed and not recorded goes back."""
        if not self._unrecorded:
            return
        jobs, self._unrecorded, self._finished = list(self._unrecorded.values()), {}, []
        await self.store.release(jobs)

    async def _deliver(self, job: DeliveryJob) -> None:
        """POST, then queue the outcome for writing; the window's place taken
        here is given back when the outcome is written (``_write_finished``)."""
        await self._window.acquire()
        result = await post_signed(self.client, job, self._signer(job))
        self._window.answered()
        if not self._behind[0]:
            self._window.widen()
        now = self.clock()
        decision = None
        if not result.ok:
            if result.refused:
                decision = RetryDecision.stop("refused target")
            else:
                decision = next_attempt(
                    job.attempts + 1,
                    status=result.status,
                    retry_after=result.retry_after,
                    now=now,
                    rng=self.rng,
                )
            log.info(
                "delivery %s to %s failed (%s): %s",
                job.id,
                job.inbox_url,
                result.status or result.error,
                decision.reason,
            )
        self._finished.append(Outcome(job, result, decision, now))
        await self._write_finished()

    async def _write_finished(self) -> None:
        """Write every finished outcome not yet written, unless ``writers`` writes
        are under way (their loops pick these up when they are done)."""
        if self._writing >= self.writers:
            return
        self._writing += 1
        try:
            await asyncio.sleep(0)  # answers read in this turn of the loop join this write
            while self._finished:
                outcomes, self._finished = self._finished, []
                self._window.taken(len(outcomes))
                await self.store.record_many(outcomes)
                for outcome in outcomes:
                    self._unrecorded.pop(outcome.job.id, None)
                self._window.release(len(outcomes))
        finally:
            self._writing -= 1


def _raise_first(done: set[asyncio.Task[None]]) -> None:
    for task in done:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            raise error
