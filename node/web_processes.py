"""HTTP served by several processes sharing one listening socket (``TOCSIN_WEB_WORKERS``).

One Python process runs on one core. The inbox's 202 path (verify the
signature, parse, record) is CPU work, so ``tocsin web`` (and ``tocsin run``
on PostgreSQL) can serve with N processes: the first binds the socket,
migrates, then has N-1 more web processes serve the same socket too; the
kernel hands each new connection to whichever process accepts first.

Memory: the N-1 are forked by the first (``fork_web_processes``) once it has
imported what a web process runs, before its event loop starts or it opens
anything, so the pages of those modules (about 100 MB of a Python process)
are shared copy-on-write rather than held once per process; ``gc.freeze()``
first keeps the collector from writing to them. A forked process waits for the
first to hand it the listening socket (over a socket pair, once the schema is
migrated) and exits if the first goes without doing so.

The others only serve HTTP: they record what the inbox receives and wake
the workers with ``NOTIFY`` (``node.wakeup``), like any ``tocsin web``. Every
process keeps its own caches, which the content counters keep fresh across
processes (``node.content.changes``).

The first process restarts one that dies (as a new ``tocsin web`` process that
inherits the socket: not sharing the pages, but rare), and stops them all when
it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable

log = logging.getLogger(__name__)

SOCKET_FD = "TOCSIN_WEB_SOCKET_FD"  # set only for the processes the first one starts
RESTART_PAUSE = 1.0  # seconds before a process that died is started again
STOP_TIMEOUT = 10.0  # seconds a process gets to finish its requests before it is killed


class Forked:
    """A web process forked by the first, waiting for the socket until ``hand``."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self._channel: socket.socket | None = channel
        self.returncode: int | None = None

    def hand(self, listener: socket.socket) -> None:
        """Give it the listening socket: it starts serving."""
        if self._channel is None:
            return
        # it died meanwhile: the watcher sees it
        with self._channel, contextlib.suppress(OSError):
            socket.send_fds(self._channel, [b"serve"], [listener.fileno()])
        self._channel = None

    def close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout or 0.0)
        while self.poll() is None:
            if timeout is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(["tocsin", "web"], timeout)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_forked: list[Forked] = []  # forked by fork_web_processes, handed the socket by Siblings


def fork_web_processes(count: int, serve: Callable[[socket.socket], int]) -> None:
    """Fork ``count`` web processes now, before any event loop, thread or
    connection exists, so they share this process's imported modules.

    Each waits for ``Siblings.running`` to hand it the listening socket, then
    runs ``serve(listener)`` and exits with what it returns; it exits at once
    when this process closes the channel without handing it one (it could
    not bind, or failed before serving)."""
    gc.collect()
    gc.freeze()  # what is imported is never collected: the collector leaves its pages alone
    forked: list[Forked] = []
    for _ in range(count):
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the forked web process
            ours.close()
            for other in forked:  # so each sees the first go, not a sibling
                other.close_channel()
            os._exit(_wait_and_serve(theirs, serve))
        theirs.close()
        forked.append(Forked(pid, ours))
    _forked[:] = forked


def _wait_and_serve(channel: socket.socket, serve: Callable[[socket.socket], int]) -> int:
    _forked.clear()
    try:
        with channel:
            _, fds, _, _ = socket.recv_fds(channel, 16, 1)
    except OSError:
        return 0
    if not fds:  # the first process went without serving
        return 0
    try:
        return serve(socket.socket(fileno=fds[0]))
    except KeyboardInterrupt:
        return 130
    except BaseException:
        log.exception("web process %d failed", os.getpid())
        return 1
    finally:
        logging.shutdown()


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
        self._processes: list[subprocess.Popen[bytes] | Forked] = []
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
        forked, unused = _forked[: self._count], _forked[self._count :]
        _forked.clear()
        for process in unused:
            process.close_channel()  # it exits
        for process in forked:
            process.hand(self._listener)
        self._processes = [*forked, *(self._spawn() for _ in range(self._count - len(forked)))]
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
