"""The worker's loop (node/worker.py): while received activities keep it busy,
the periodic jobs run at most every ``JOBS_WHILE_BUSY``; otherwise at every pass."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from node import worker as worker_module
from node.bootstrap import prepare
from node.runtime import node_context
from node.worker import JOBS_WHILE_BUSY, Worker
from tests.support.databases import migrated_database
from tests.support.nodes import make_settings


@pytest.mark.batching_pauses
async def test_jobs_wait_while_received_activities_keep_coming(
    db_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[float] = []
    received = [0]

    async def run_jobs(context: Any) -> int:
        jobs.append(asyncio.get_running_loop().time())
        return 0

    async def inbound_run_once(limit: int = 100) -> int:
        return received[0]

    monkeypatch.setattr(worker_module, "run_jobs", run_jobs)
    async with migrated_database(db_kind, tmp_path) as database_url:
        settings = make_settings(tmp_path, database_url, base_url="http://127.0.0.1:9")
        await prepare(settings, first_admin=False)
        async with node_context(settings) as context:
            worker = Worker(context)
            monkeypatch.setattr(worker.inbound, "run_once", inbound_run_once)
            await worker.run_pass()
            await worker.run_pass()
            assert len(jobs) == 2  # idle: the jobs at every pass
            received[0] = 5
            await worker.run_pass()
            await worker.run_pass()
            assert len(jobs) == 2  # busy, and they ran just now
            await asyncio.sleep(JOBS_WHILE_BUSY)
            await worker.run_pass()
            assert len(jobs) == 3
            received[0] = 0
            await worker.run_pass()
            assert len(jobs) == 4
