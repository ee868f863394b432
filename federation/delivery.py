"""The delivery worker: claim due deliveries, POST them signed, record the outcome.

Where deliveries are stored is the application's business (``DeliveryStore``);
this module owns the wire: signing, the POST, a total deadline, and turning
the response into a retry decision with the pure policy in ``retry.py``.

A claimed row carries a lease (``locked_until``): a worker that dies
mid-delivery loses nothing, the row is claimed again when the lease expires.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.as2 import AS_ACCEPT, AS_MEDIA_TYPE
from federation.errors import UnsafeTargetError
from federation.httpsig import sign_headers
from federation.keys import load_private_key
from federation.retry import RetryDecision, next_attempt

log = logging.getLogger(__name__)

DELIVERY_DEADLINE = 30.0
DEFAULT_LEASE = timedelta(minutes=5)


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


class DeliveryStore(Protocol):
    async def claim(self, *, limit: int, now: datetime, lease: timedelta) -> list[DeliveryJob]:
        """Lease up to ``limit`` due deliveries that no other worker holds."""
        ...

    async def record(
        self,
        job: DeliveryJob,
        result: DeliveryResult,
        decision: RetryDecision | None,
        now: datetime,
    ) -> None:
        """Store the outcome: done (``decision`` None), retry later, or given up."""
        ...


async def post_signed(
    client: httpx.AsyncClient, job: DeliveryJob, key: rsa.RSAPrivateKey
) -> DeliveryResult:
    """One signed POST of the job's exact body; never raises for remote failures."""
    headers = {"Content-Type": AS_MEDIA_TYPE, "Accept": AS_ACCEPT}
    try:
        headers.update(
            sign_headers(
                "POST", job.inbox_url, headers, job.body, key_id=job.key_id, private_key=key
            )
        )
        async with asyncio.timeout(DELIVERY_DEADLINE):
            response = await client.post(job.inbox_url, content=job.body, headers=headers)
    except UnsafeTargetError as exc:
        return DeliveryResult(status=None, error=str(exc), refused=True)
    except (httpx.HTTPError, TimeoutError, OSError) as exc:
        return DeliveryResult(status=None, error=f"{type(exc).__name__}: {exc}"[:500])
    return DeliveryResult(
        status=response.status_code,
        error=None if response.is_success else response.text[:500],
        retry_after=response.headers.get("retry-after"),
    )


class DeliveryWorker:
    """Steps the queue: ``run_once()`` is one deterministic pass, for tests and loops alike."""

    def __init__(
        self,
        store: DeliveryStore,
        client: httpx.AsyncClient,
        *,
        concurrency: int = 50,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.lease = lease
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng
        self._slots = asyncio.Semaphore(concurrency)
        self._keys: dict[str, rsa.RSAPrivateKey] = {}

    def _key(self, pem: str) -> rsa.RSAPrivateKey:
        key = self._keys.get(pem)
        if key is None:
            key = self._keys[pem] = load_private_key(pem)
        return key

    async def run_once(self, limit: int = 200) -> int:
        """Deliver what is due now; returns how many deliveries were attempted."""
        jobs = await self.store.claim(limit=limit, now=self.clock(), lease=self.lease)
        if jobs:
            await asyncio.gather(*(self._deliver(job) for job in jobs))
        return len(jobs)

    async def _deliver(self, job: DeliveryJob) -> None:
        async with self._slots:
            result = await post_signed(self.client, job, self._key(job.private_key_pem))
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
        await self.store.record(job, result, decision, now)
