"""``TOCSIN_WEB_WORKERS``: ``tocsin web`` serving one socket from several processes
(node/web_processes.py), started, restarted and stopped by the first.

Real processes, since the process boundary is the point. That every process
answers is shown by freezing all but one (SIGSTOP): the one left must then
answer every new connection by itself.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from node.config import ConfigError, load_settings
from tests.support.databases import migrated_database, postgres_url
from tests.support.nodes import free_port
from tests.support.processes import ROOT

needs_postgres = pytest.mark.skipif(
    postgres_url() is None, reason="TOCSIN_TEST_POSTGRES_URL is not set"
)


def children(pid: int) -> list[int]:
    """The ``tocsin web`` processes ``pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == pid and b"node.cli\x00web" in cmdline:
            found.append(int(entry.name))
    return found


async def wait_for(check: Callable[[], Awaitable[bool] | bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = check()
        if await done if inspect.isawaitable(done) else done:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def answers(base: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:  # a new connection each time
            return (await client.get(f"{base}/.well-known/nodeinfo", timeout=10)).status_code == 200
    except httpx.TransportError:
        return False


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with migrated_database("postgres", tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")} | {
            "TOCSIN_BASE_URL": base,
            "TOCSIN_LISTEN": f"127.0.0.1:{port}",
            "TOCSIN_DATA_DIR": str(tmp_path / "data"),
            "TOCSIN_DATABASE_URL": url,
            "TOCSIN_WEB_WORKERS": "2",
        }
        with (tmp_path / "web.log").open("wb") as log:
            process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [sys.executable, "-m", "node.cli", "web"], env=env, cwd=ROOT, stdout=log, stderr=log
            )
        try:
            await wait_for(lambda: answers(base))
            yield process, base
        finally:
            for pid in children(process.pid):
                os.kill(pid, signal.SIGKILL)
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@needs_postgres
async def test_every_web_process_answers_on_the_shared_socket(
    web: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base = web
    await wait_for(lambda: len(children(process.pid)) == 1)
    everyone = [process.pid, *children(process.pid)]
    for serving in everyone:
        frozen = [pid for pid in everyone if pid != serving]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            for _ in range(5):
                assert await answers(base), f"process {serving} alone did not answer"
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)


@needs_postgres
async def test_a_web_process_that_dies_is_replaced_and_all_stop_with_the_first(
    web: tuple[subprocess.Popen[bytes], str],
) -> None:
    process, base = web
    await wait_for(lambda: len(children(process.pid)) == 1)
    (first,) = children(process.pid)
    os.kill(first, signal.SIGKILL)
    await wait_for(lambda: [pid for pid in children(process.pid) if pid != first and alive(pid)])
    (second,) = [pid for pid in children(process.pid) if alive(pid)]
    process.terminate()
    await wait_for(lambda: process.poll() is not None)
    await wait_for(lambda: not alive(second), timeout=15)
    assert not await answers(base)


@pytest.mark.parametrize("value", ["0", "two", "33", "-1"])
def test_a_bad_number_of_web_processes_is_refused_with_the_range(
    value: str, tmp_path: Path
) -> None:
    env = {
        "TOCSIN_DATA_DIR": str(tmp_path),
        "TOCSIN_DATABASE_URL": "postgresql+asyncpg://x@127.0.0.1/x",
        "TOCSIN_WEB_WORKERS": value,
    }
    with pytest.raises(ConfigError, match="TOCSIN_WEB_WORKERS must be a number of processes"):
        load_settings(env)


def test_several_web_processes_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    env = {"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_WEB_WORKERS": "2"}
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        load_settings(env)
    assert load_settings(env | {"TOCSIN_WEB_WORKERS": "1"}).web_workers == 1
