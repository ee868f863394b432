"""The node's memory, measured the way the 250 MB target means it.

VmHWM (peak RSS) counts every page a process maps, so adding the web
processes' and the worker's peaks counts their shared pages (the libraries,
and since the web processes are forked after the imports, the imported
modules) once per process. PSS (proportional set size, from
``/proc/PID/smaps_rollup``) charges a shared page 1/n to each of the n
processes mapping it, so the sum over processes is what they take together.
The kernel keeps no PSS peak: ``MemorySampler`` reads it every
``INTERVAL`` seconds in a thread and keeps each process's largest; the
reported figure is the sum of those peaks (at least the peak of the sum).
RSS is sampled beside it, so both come from the same moments.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

INTERVAL = 0.2  # seconds between two readings
RESCAN = 1.0  # seconds between two looks for new processes (a restarted web process)


def rollup_kb(pid: int) -> dict[str, int]:
    """Pss, Rss, … of ``pid`` in kB (empty when it is gone)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, rest = line.partition(":")
            out[name] = int(rest.split()[0])
    return out


class MemorySampler:
    """Per-process peaks of PSS and RSS of ``pids()``, sampled until ``stop``."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self._pids = pids
        self._pss: dict[int, int] = {}
        self._rss: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        pids: list[int] = []
        scanned = 0.0
        while not self._stop.is_set():
            if time.monotonic() - scanned >= RESCAN:
                with contextlib.suppress(Exception):
                    pids = self._pids()
                scanned = time.monotonic()
            self.sample(pids)
            self._stop.wait(INTERVAL)

    def sample(self, pids: list[int]) -> None:
        for pid in pids:
            rollup = rollup_kb(pid)
            if "Pss" in rollup:
                self._pss[pid] = max(self._pss.get(pid, 0), rollup["Pss"])
                self._rss[pid] = max(self._rss.get(pid, 0), rollup.get("Rss", 0))

    def peak_pss_mb(self) -> float | None:
        """The sum of every process's peak PSS so far."""
        return sum(self._pss.values()) / 1024 if self._pss else None

    def peak_rss_mb(self) -> float | None:
        """The sum of every process's peak RSS as sampled (VmHWM catches shorter peaks)."""
        return sum(self._rss.values()) / 1024 if self._rss else None

    def processes(self) -> int:
        return len(self._pss)
