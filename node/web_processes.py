"""HTTP served by several processes sharing one listening socket (``TOCSIN_WEB_WORKERS``).

One Python process runs on one core. The inbox's 202 path (verify the
signature, parse, record) is CPU work, so ``tocsin web`` (and ``tocsin run``
on PostgreSQL) can serve with N processes: the first binds the socket,
migrates, then starts N-1 more ``tocsin web`` processes that inherit the
socket and serve it too; the kernel hands each new connection to whichever
process accepts first. The others only serve HTTP: they record what the inbox
receives and wake the workers with ``NOTIFY`` (``node.wakeup``), like any
``tocsin web``. Every process keeps its own caches, which the content
counters keep fresh across processes (``node.content.changes``).

The first process restarts one that dies, and stops them all when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

SOCKET_FD = "TOCSIN_WEB_SOCKET_FD"  # set only for the processes the first one starts
RESTART_PAUSE = 1.0  # seconds before a process that died is started again
STOP_TIMEOUT = 10.0  # seconds a process gets to finish its requests before it is killed


def inherited_listener() -> socket.socket | None:
    """The listening socket handed down by the first web process, if this is another."""
    fd = os.environ.pop(SOCKET_FD, None)
    if fd is None:
        return None
    return socket.socket(fileno=int(fd))


class Siblings:
    """The other web processes, started by the first once the schema is migrated."""

    def __init__(self, listener: socket.socket, count: int) -> None:
        self._listener = listener
        self._count = count
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        fd = self._listener.fileno()
        return subprocess.Popen(
            [sys.executable, "-m", "node.cli", "web"],
            env={**os.environ, SOCKET_FD: str(fd)},
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
        )

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    async def _watch(self) -> None:
        while not self._stopping:
            await asyncio.sleep(RESTART_PAUSE)
            for i, process in enumerate(self._processes):
                if process.poll() is not None and not self._stopping:
                    log.error(
                        "web process %d exited with status %s; starting another",
                        process.pid,
                        process.returncode,
                    )
                    self._processes[i] = self._spawn()

    def _stop(self) -> None:
        self._stopping = True
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # uvicorn finishes what it serves
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in self._processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Siblings]:
        self._processes = [self._spawn() for _ in range(self._count)]
        if self._processes:
            log.info("serving HTTP with %d processes", self._count + 1)
        watcher = asyncio.create_task(self._watch(), name="web-processes")
        # uvicorn re-raises the SIGTERM it shut down for once it is done; with the
        # default handler this process would die there and leave the others serving
        previous = signal.signal(signal.SIGTERM, _exit) if self._processes else None
        try:
            yield self
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self._stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
