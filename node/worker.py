"""The background worker: processes received activities, runs the periodic
jobs (``node.jobs``) and sends deliveries.

``tocsin run`` runs it inside the web process; ``tocsin worker`` runs it alone
(as many as you like, on PostgreSQL). ``run_once`` is one deterministic pass;
the loop runs ``run_pass``, which holds the periodic jobs back while received
activities keep it busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from federation.delivery import DeliveryWorker
from node.config import Settings
from node.context import NodeContext
from node.delivery_store import SqlDeliveryStore
from node.jobs import run_jobs
from node.runtime import node_context

log = logging.getLogger(__name__)
IDLE_WAIT = 1.0
# While received activities keep the worker busy, its periodic jobs run at most
# this often: with nothing due they still cost seven statements a pass, as much
# CPU as processing fifty activities, and a busy inbox wakes the worker at every
# commit of the recorder. Deliveries are still tried at every pass.
JOBS_WHILE_BUSY = 0.25


class Worker:
    def __init__(self, context: NodeContext) -> None:
        self.context = context
        self.inbound = context.inbound
        self.deliveries = DeliveryWorker(
            SqlDeliveryStore(context.sessions, context.urls, context.leases),
            context.delivery_http,
            # PostgreSQL writes outcomes side by side, so few wait unrecorded
            writers=1 if context.engine.dialect.name == "sqlite" else 4,
        )
        self._jobs_run_at = -JOBS_WHILE_BUSY  # the loop's clock

    async def run_once(self) -> int:
        """One pass over due work; returns how many items it handled."""
        handled = await self.inbound.run_once()
        handled += await run_jobs(self.context)
        return handled + await self.deliveries.run_once()

    async def run_pass(self) -> int:
        """``run_once``, but the jobs wait while received activities keep coming
        (``JOBS_WHILE_BUSY``); returns how many items it handled."""
        handled = await self.inbound.run_once()
        now = asyncio.get_running_loop().time()
        if not handled or now - self._jobs_run_at >= JOBS_WHILE_BUSY:
            self._jobs_run_at = now
            handled += await run_jobs(self.context)
        return handled + await self.deliveries.run_once()

    async def run_forever(self) -> None:
        while True:
            self.context.work_available.clear()
            try:
                await self.inbound.gathered()  # received activities claimed together
                handled = await self.run_pass()
            except Exception:
                log.exception("worker pass failed; retrying")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.context.work_available.wait(), IDLE_WAIT)


async def run_worker(context: NodeContext) -> None:
    await Worker(context).run_forever()


async def run_standalone_worker(settings: Settings) -> None:
    async with node_context(settings) as context:
        await run_worker(context)
