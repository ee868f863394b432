"""Real ``tocsin worker`` processes beside a test, to be killed like real ones."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.config import Settings
from node.models import WorkerProcess

CONSOLE_SCRIPT = Path(sys.executable).parent / "tocsin"
ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    """This process's environment, with the node's settings in place of any TOCSIN_ ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    return env | {
        "TOCSIN_BASE_URL": settings.base_url,
        "TOCSIN_DATA_DIR": str(settings.data_dir),
        "TOCSIN_DATABASE_URL": settings.database_url,
        "TOCSIN_NODE_NAME": settings.node_name,
        "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
    }


async def start_worker(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], log: Path
) -> subprocess.Popen[bytes]:
    """Start ``tocsin worker`` and return once it has recorded itself (it has
    freed its predecessors' claims by then)."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
            [str(CONSOLE_SCRIPT), "worker"],
            env=settings_env(settings),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    async with asyncio.timeout(30):
        while True:
            assert process.poll() is None, f"tocsin worker stopped: see {log}"
            async with sessions() as session:
                pids = (await session.scalars(select(WorkerProcess.pid))).all()
            if process.pid in pids:
                return process
            await asyncio.sleep(0.05)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
