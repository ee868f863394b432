"""What every workload needs: tools, a throw-away PostgreSQL database, a real
``tocsin`` node process, the loopback remote servers, wrk, and peak RSS.

Everything listens on 127.0.0.0/8 and every process started here is stopped
by the same code that started it (by its own pid, never by name).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.memory import MemorySampler

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
BIN = Path(sys.executable).parent
VARIANT = os.environ.get("TOCSIN_BENCH_VARIANT", "")
# what `tocsin run/web` prints once it serves (it binds its socket itself, so uvicorn's
# own "Uvicorn running on" line never comes)
NODE_READY = "Application startup complete"
PG_ADMIN_DSN = os.environ.get("TOCSIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- tools ----------------------------------------------------------------------------


def ensure_tools(*, profiler: bool = False) -> None:
    """wrk from Debian's packages; orjson (a floor), aiohttp (a candidate delivery client,
    measured beside the fan-out floor) and py-spy (profiling) in the venv."""
    if shutil.which("wrk") is None:
        log("wrk is missing: apt-get install -y wrk")
        prefix = [] if os.geteuid() == 0 else ["sudo"]
        result = subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], check=False)
        if result.returncode != 0:
            subprocess.run([*prefix, "apt-get", "update"], check=True)
            subprocess.run([*prefix, "apt-get", "install", "-y", "wrk"], check=True)
    wanted = ["orjson", "aiohttp"] + (["py-spy"] if profiler else [])
    missing = [name for name in wanted if not _installed(name)]
    if missing:
        log(f"installing {' '.join(missing)} into {sys.prefix}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)


def _installed(name: str) -> bool:
    if name == "py-spy":
        return (BIN / "py-spy").exists() or shutil.which("py-spy") is not None
    from importlib.util import find_spec

    return find_spec(name) is not None


# -- ports, memory ----------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_on(hosts: list[str]) -> int:
    """A port that is free on every one of ``hosts`` (the remote servers share one)."""
    for _ in range(50):
        port = free_port()
        try:
            for host in hosts[:: max(1, len(hosts) // 20)] + hosts[-1:]:
                with socket.socket() as sock:
                    sock.bind((host, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no common free port")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's peak resident set size so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class CpuMeter:
    """CPU seconds used over a window, by who used them, read from /proc.

    Groups: the node process; PostgreSQL backends of the bench's databases;
    the rest of PostgreSQL (its background writers, and other databases);
    wrk; the bench itself (this process, the remote servers); and everything
    else on the machine, which on a shared machine is other people's work and
    makes a run noisy (it is reported with every workload).
    """

    GROUPS = ("node", "postgres", "postgres other", "wrk", "bench", "other")

    def __init__(self, node_pid: int | None = None, *more_node_pids: int) -> None:
        self.node_pid = node_pid
        self.more_node_pids = set(more_node_pids)  # a `tocsin worker` beside `tocsin web`
        self.started: dict[int, tuple[str, float]] = {}
        self.wall = 0.0

    def _sample(self) -> dict[int, tuple[str, float]]:
        tick = os.sysconf("SC_CLK_TCK")
        procs: dict[int, tuple[str, int, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            procs[int(entry.name)] = (comm, int(fields[1]),
                                      (int(fields[11]) + int(fields[12])) / tick)
            if int(entry.name) == self.node_pid:
                self._node_sys = int(fields[12]) / tick
        mine = {os.getpid()}
        changed = True
        while changed:  # every descendant of this process
            changed = False
            for pid, (_, ppid, _) in procs.items():
                if ppid in mine and pid not in mine:
                    mine.add(pid)
                    changed = True
        out = {}
        for pid, (comm, _, seconds) in procs.items():
            if pid == self.node_pid or pid in self.more_node_pids:
                group = "node"
            elif comm == "postgres":
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    title = b""
                group = "postgres" if b"tocsin_bench_" in title else "postgres other"
            elif comm == "wrk":
                group = "wrk"
            elif pid in mine:
                group = "bench"
            else:
                group = "other"
            out[pid] = (group, seconds)
        return out

    _node_sys = 0.0

    def start(self) -> None:
        self.started = self._sample()
        self._sys_before = self._node_sys
        self.wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since ``start`` (plus ``wall`` seconds)."""
        now = self._sample()
        used = dict.fromkeys(self.GROUPS, 0.0)
        for pid, (group, seconds) in now.items():
            before = self.started.get(pid, (group, 0.0))[1]
            used[group] += max(0.0, seconds - before)
        used["wall"] = time.monotonic() - self.wall
        used["node sys"] = self._node_sys - self._sys_before
        return used

    @staticmethod
    def describe(used: dict[str, float]) -> str:
        cores = os.cpu_count() or 1
        parts = ", ".join(f"{g} {used[g]:.1f}" for g in CpuMeter.GROUPS)
        return (f"CPU s over {used['wall']:.1f} s wall ({cores} cores): {parts} "
                f"(node in the kernel {used.get('node sys', 0):.1f})")


async def wait_quiet(*, limit: float = 0.25, max_wait: float = 20) -> float:
    """Wait (up to ``max_wait`` s) until processes that are not the bench's use less
    than ``limit`` of a core; returns the share they used in the last second."""
    started = time.monotonic()
    while True:
        meter = CpuMeter()
        meter.start()
        await asyncio.sleep(1.0)
        used = meter.stop()
        busy = (used["other"] + used["postgres other"]) / used["wall"]
        if busy < limit or time.monotonic() - started > max_wait:
            if busy >= limit:
                log(f"the machine is busy with other work ({busy:.2f} cores); going on anyway")
            return busy
        if time.monotonic() - started < 1.5:
            log(f"other work is using {busy:.2f} cores; waiting for a quiet machine")
        await asyncio.sleep(2)


async def pg_counters(dsn: str) -> dict[str, int]:
    """This database's transaction and row counters (pg_stat_database)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_fetched, "
            "tup_returned FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()
    return dict(row)


class PgSampler:
    """What the node's PostgreSQL connections are doing, sampled every 0.2 s
    from pg_stat_activity: running, waiting on a lock (and which), waiting on
    WAL flush, idle inside a transaction (the node holding a transaction open
    while it does something else), or idle."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples = 0
        self.counts: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'")
                self.samples += 1
                for row in rows:
                    state = row["state"] or "?"
                    if state == "active" and row["wait_event_type"] in ("Lock", "LWLock", "IO"):
                        state = f"waiting {row['wait_event_type']}:{row['wait_event']}"
                    self.counts[state] = self.counts.get(state, 0) + 1
                await asyncio.sleep(0.2)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> str:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.samples:
            return "no samples"
        parts = sorted(self.counts.items(), key=lambda item: -item[1])
        return "average node connections: " + ", ".join(
            f"{name} {count / self.samples:.1f}" for name, count in parts[:6])


def hosts_range(second: int, count: int, per_third: int = 250) -> list[str]:
    """``count`` distinct addresses 127.<second>.x.y, y from 1 to ``per_third``."""
    return [f"127.{second}.{1 + i // per_third}.{1 + i % per_third}" for i in range(count)]


# -- PostgreSQL ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def throwaway_database(label: str) -> AsyncIterator[str]:
    """A brand-new database, dropped afterwards; yields its asyncpg DSN."""
    name = f"tocsin_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    try:
        yield dsn
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def sqlalchemy_url(dsn: str) -> str:
    return "postgresql+asyncpg://" + dsn.split("://", 1)[1]


# -- processes ------------------------------------------------------------------------------


@dataclass
class Process:
    """A child process we started, stopped by its own pid."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def peak_rss_mb(self) -> float | None:
        return peak_rss_mb(self.pid)

    def stop(self, timeout: float = 10) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def descendants(pids: list[int]) -> list[int]:
    """Every live process started by one of ``pids`` (or by those), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: list[int] = []
    frontier = set(pids)
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier}
        found.extend(sorted(frontier))
    return found


def start(name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None,
          ready_line: str | None = None, timeout: float = 60) -> Process:
    log_path = workdir / f"{name}.log"
    handle = open(log_path, "wb")  # noqa: SIM115 - owned by the child
    popen = subprocess.Popen(
        argv, cwd=REPO, env={**os.environ, **(env or {})}, stdout=handle,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    process = Process(name, popen, log_path)
    if ready_line is not None:
        deadline = time.monotonic() + timeout
        while ready_line not in log_path.read_text(errors="replace"):
            if popen.poll() is not None or time.monotonic() > deadline:
                process.stop()
                raise RuntimeError(f"{name} did not start:\n{process.tail()}")
            time.sleep(0.05)
    return process


# -- the node -------------------------------------------------------------------------------


@dataclass
class Node:
    dsn: str
    workdir: Path
    name: str = "network"
    port: int = field(default_factory=free_port)
    process: Process | None = None
    worker: Process | None = None
    web_workers: int = 1  # TOCSIN_WEB_WORKERS: the first web process starts the others
    memory: MemorySampler | None = None  # PSS and RSS of every process (bench/memory.py)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def actor_id(self) -> str:
        return f"{self.base}/actors/{self.name}"

    def env(self) -> dict[str, str]:
        return {
            "TOCSIN_BASE_URL": self.base,
            "TOCSIN_LISTEN": self.host,
            "TOCSIN_DATA_DIR": str(self.workdir / "data"),
            "TOCSIN_DATABASE_URL": sqlalchemy_url(self.dsn),
            "TOCSIN_NODE_NAME": self.name,
            "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
            "TOCSIN_SECRET_KEY": "bench-" + "x" * 40,
        }

    def settings(self) -> Any:
        from node.config import load_settings

        return load_settings(self.env())

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "tocsin"), *args], cwd=REPO, env={**os.environ, **self.env()},
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tocsin {' '.join(args)} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def migrate(self) -> None:
        """Schema and the node's actors, before anything is seeded."""
        self.cli("migrate")

    def start(self, command: str = "run") -> None:
        argv = [str(BIN / "tocsin"), command]
        if VARIANT:  # a proposed fix, applied from outside (bench/variants.py)
            argv = [sys.executable, "-m", "bench.variants", VARIANT, "--", command]
        env = self.env()
        if self.web_workers > 1:  # several processes serve the socket (node/web_processes.py)
            env["TOCSIN_WEB_WORKERS"] = str(self.web_workers)
        self.process = start(f"tocsin-{command}", argv, self.workdir, env,
                             ready_line=NODE_READY)
        self._sample_memory()

    def _sample_memory(self) -> None:
        if self.memory is None:
            self.memory = MemorySampler(self.pids).start()

    def start_worker(self) -> None:
        """A `tocsin worker` process beside `tocsin web` (the production shape)."""
        argv = [str(BIN / "tocsin"), "worker"]
        if VARIANT:
            argv = [sys.executable, "-m", "bench.variants", VARIANT, "--", "worker"]
        self.worker = start("tocsin-worker", argv, self.workdir, self.env())
        self._sample_memory()
        time.sleep(2)  # it connects and starts listening; nothing to print before work comes

    def stop(self) -> None:
        if self.memory is not None:
            self.memory.stop()
        started = self.pids()  # with the web processes the first one started
        for process in (self.worker, self.process):
            if process is not None:
                process.stop()
        for pid in started:  # the first stops the others; any left over goes by its pid
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def pids(self) -> list[int]:
        """The node's processes: web (and those it started), worker."""
        roots = [p.popen.pid for p in (self.process, self.worker) if p is not None]
        return roots + descendants(roots)

    def peak_rss_mb(self) -> float | None:
        """The node's peak memory: every process's peak added (web processes, worker)."""
        peaks = [peak_rss_mb(pid) for pid in self.pids()]
        known = [peak for peak in peaks if peak is not None]
        return sum(known) if known else None

    def peak_pss_mb(self) -> float | None:
        """The node's memory as the target means it: the sum of every process's
        peak PSS, shared pages shared out (bench/memory.py)."""
        return self.memory.peak_pss_mb() if self.memory is not None else None

    async def keys(self) -> dict[str, str]:
        """keyId → public PEM of the node's two actors (for the sink's checks)."""
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch("SELECT username, kind, public_key_pem FROM local_actors")
        finally:
            await conn.close()
        out = {}
        for row in rows:
            actor = f"{self.base}/actor" if row["kind"] == "application" else (
                f"{self.base}/actors/{row['username']}")
            out[f"{actor}#main-key"] = row["public_key_pem"]
        return out


@contextlib.contextmanager
def running(*things: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for thing in reversed(things):
            with contextlib.suppress(Exception):
                thing.stop()


# -- the remote servers ------------------------------------------------------------------------


@dataclass
class Remote:
    """``bench.remote`` listening on ``hosts`` (one port for all)."""

    hosts: list[str]
    accounts: int
    keys_file: Path
    workdir: Path
    sample_every: int = 10
    port: int = 0
    ctrl_port: int = 0
    process: Process | None = None

    def start(self) -> None:
        self.port = self.port or free_port_on(self.hosts)
        self.ctrl_port = free_port()
        config = self.workdir / f"remote-{self.port}.json"
        config.write_text(json.dumps({
            "port": self.port, "ctrl_port": self.ctrl_port, "hosts": self.hosts,
            "accounts": self.accounts, "keys": str(self.keys_file),
            "sample_every": self.sample_every,
        }))
        self.process = start(
            f"remote-{self.port}", [sys.executable, "-m", "bench.remote", str(config)],
            self.workdir, ready_line="ready",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def authority(self, host: str) -> str:
        return f"{host}:{self.port}"

    async def _control(self, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        """One request to the control port over a plain stream (cheap to poll often)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: control\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        data = await reader.readexactly(length)
        writer.close()
        return dict(json.loads(data)) if data else {}

    async def stats(self) -> dict[str, Any]:
        return await self._control("GET", "/stats")

    async def set_keys(self, keys: dict[str, str]) -> None:
        await self._control("POST", "/keys", json.dumps(keys).encode())

    async def reset(self) -> None:
        await self._control("POST", "/reset")


# -- wrk ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    duration: float
    requests: int
    offered: int
    answered: int
    statuses: dict[int, int]
    socket_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0


async def wrk(url: str, script: str, *, args: list[str], duration: float, connections: int,
              threads: int = 2, timeout: float = 10,  # noqa: ASYNC109 (wrk's own)
              done_dir: Path | None = None) -> WrkResult:
    """Run wrk; with ``done_dir`` (``replay.lua``), end it as soon as every thread
    has written its ``doneN`` file, instead of letting it sleep out ``duration``."""
    argv = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s",
        f"--timeout={int(timeout)}s", "-s", str(BENCH_DIR / script), url, "--", *args,
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    if done_dir is not None:
        flags = [done_dir / f"done{i + 1}" for i in range(threads)]
        for flag in flags:
            flag.unlink(missing_ok=True)

        async def end_when_done() -> None:
            while not all(flag.exists() for flag in flags):  # noqa: ASYNC110 (files)
                await asyncio.sleep(0.1)
            proc.send_signal(signal.SIGINT)  # wrk's main thread stops sleeping and reports

        watcher = asyncio.create_task(end_when_done())
    out, err = await proc.communicate()
    if done_dir is not None:
        watcher.cancel()
    text = out.decode(errors="replace")
    if os.environ.get("BENCH_DEBUG_WRK"):
        log(text)
    line = next((ln for ln in text.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result:\n{text}\n{err.decode(errors='replace')}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = data["errors"]
    span = data.get("span_us", 0) / 1e6
    return WrkResult(
        duration=span if span > 0 else data["duration_us"] / 1e6,
        requests=data["requests"],
        offered=data["offered"],
        answered=data.get("answered", data["requests"]),
        statuses={int(k): v for k, v in data["statuses"].items()},
        socket_errors=errors["connect"] + errors["read"] + errors["write"],
        timeouts=errors["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


# -- results ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table. ``figure``/``floor`` are numbers in ``unit``;
    ``higher_is_better`` says which way the ratio (always ≥ 1 when slower) is taken."""

    workload: str
    figure: float | None
    unit: str
    floor: float | None = None
    higher_is_better: bool = True
    rss_mb: float | None = None
    note: str = ""
    pss_mb: float | None = None  # the sum of the processes' peak PSS (bench/memory.py)
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.figure in (None, 0) or self.floor in (None, 0):
            return None
        assert self.figure is not None and self.floor is not None
        return self.floor / self.figure if self.higher_is_better else self.figure / self.floor

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.figure is None:
            return None
        return self.figure >= self.target if self.higher_is_better else self.figure <= self.target


@dataclass
class Floors:
    """The unavoidable costs, measured in the same run (seconds or requests/s)."""

    values: dict[str, float] = field(default_factory=dict)

    def get(self, name: str) -> float | None:
        return self.values.get(name)


@dataclass
class Bench:
    workdir: Path
    floors: Floors = field(default_factory=Floors)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys_file: Path | None = None
    profile: str | None = None  # workload to profile with py-spy
    checks: list[bool] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def cpu_note(self, workload: str, used: dict[str, float], per: int = 0,
                 what: str = "") -> None:
        """Say where the CPU went during a workload's load, and flag a noisy machine."""
        text = f"{workload}: {CpuMeter.describe(used)}"
        if per:
            text += f"; node CPU per {what} {1000 * used['node'] / per:.2f} ms"
        others = (used["other"] + used["postgres other"]) / max(used["wall"], 1e-9)
        if others > 0.2:
            text += f" — NOISY: other work used {others:.2f} cores meanwhile"
        self.note(text)

    def start_profiler(self, workload: str, node: Node, seconds: float) -> Process | None:
        """py-spy on the node process while ``workload`` runs (only when asked for);
        on a web + worker node, on the worker."""
        target = node.worker or node.process
        if self.profile != workload or target is None:
            return None
        py_spy = str(BIN / "py-spy") if (BIN / "py-spy").exists() else "py-spy"
        out = self.workdir / f"profile-{workload}.txt"
        log(f"profiling {target.name} (pid {target.pid}) with py-spy into {out}")
        return start(
            f"py-spy-{workload}",
            [py_spy, "record", "--pid", str(target.pid), "--duration", str(int(seconds)),
             "--rate", "100", "--nonblocking", "--format", "raw", "-o", str(out)],
            self.workdir,
        )

    def stop_profiler(self, process: Process | None) -> None:
        if process is not None:
            process.stop(timeout=30)

    def note(self, text: str) -> None:
        self.notes.append(text)
        log(text)
