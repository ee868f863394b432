"""A thread with an event loop of its own, for work the tests need done but need
not wait for (every test runs its own event loop, which ends with the test).

``tests.support.databases`` makes and drops PostgreSQL databases on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Background:
    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pending: list[concurrent.futures.Future[Any]] = []

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``work`` on the thread's loop; its result comes in the future."""
        with self._lock:
            future = asyncio.run_coroutine_threadsafe(work, self._running_loop())
            self._pending = [f for f in self._pending if not f.done()] + [future]
        return future

    def settle(self, timeout: float = 120) -> list[BaseException]:
        """Wait until everything submitted so far has ended; what failed."""
        with self._lock:
            pending, self._pending = self._pending, []
        done, not_done = concurrent.futures.wait(pending, timeout=timeout)
        errors = [e for f in done if (e := f.exception()) is not None]
        if not_done:
            errors.append(TimeoutError(f"{self._name}: {len(not_done)} still running"))
        return errors

    def stop(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
