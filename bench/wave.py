"""Workload: the callout wave — an urgent callout relayed down a tree of 20 nodes.

Twenty real ``tocsin run`` processes, each on its own loopback address
(127.3.0.1 … 127.3.0.20, one port for all) with its own database: the root on
PostgreSQL (a throw-away database, as every workload), the 19 others on SQLite
(one file each, which keeps the run's memory and PostgreSQL's share down). The
tree is three levels deep: the root; 4 nodes following it; 15 nodes following
those (4, 4, 4, 3). Every follow is made the real way, ``tocsin follow URL
--relay-urgent`` on the follower, answered by the followed node's Accept; so
every node relays the urgent callouts of the node it follows to its own
followers (``node/relay.py``: an ``Announce`` by id, which each receiver
fetches from the root).

Then an urgent callout is published at the root through its own service (the
callout, its ``Create`` and the deliveries in one commit), and the bench
watches every node's database for the callout's row; then a second one, once
every process has run the whole path before (the first wave pays for each
process's first use of each query and module). Reported for each wave: from
the root's commit until the callout is stored on each node — p50 and max over
the 19 other nodes (target: max under 5 s); per level, when the POST arrived
and how long processing it took (the nodes' own ``inbound_activities``
times), and the nodes' CPU; the largest peak RSS of one node. Checked: the
callout is on every node's public ``/callouts`` page, and every follower
relayed it exactly once.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench import seed
from bench.harness import (
    BIN,
    NODE_READY,
    Bench,
    CpuMeter,
    Node,
    Row,
    free_port_on,
    log,
    running,
    start,
    throwaway_database,
)

NODES = 20
CHILDREN_OF_ROOT = 4
TITLES = ("Bailiffs at 14 Elm Court now", "Immigration raid on Tottenham High Road")
PARALLEL_CLI = 4  # `tocsin` commands at once while setting up (2 cores)
IDLE_SAMPLE = 2.0  # seconds over which the idle nodes' CPU is read before a wave


def parent_of(index: int) -> int | None:
    """The tree: 0 is the root; 1 to 4 follow it; 5 to 19 follow 1 to 4 in turn."""
    if index == 0:
        return None
    if index <= CHILDREN_OF_ROOT:
        return 0
    return 1 + (index - CHILDREN_OF_ROOT - 1) % CHILDREN_OF_ROOT


def level_of(index: int) -> int:
    parent = parent_of(index)
    return 0 if parent is None else 1 + level_of(parent)


@dataclass
class WaveNode(Node):
    address: str = "127.0.0.1"
    database_file: Path | None = None  # SQLite; None: PostgreSQL at ``dsn``

    @property
    def base(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    def env(self) -> dict[str, str]:
        if self.database_file is None:
            return super().env()
        dsn, self.dsn = self.dsn, "postgresql://unused/unused"
        try:
            env = super().env()
        finally:
            self.dsn = dsn
        return {**env, "TOCSIN_DATABASE_URL": f"sqlite+aiosqlite:///{self.database_file}"}

    def launch(self) -> None:
        """``tocsin run``, without waiting for it (the bench waits for all at once)."""
        self.process = start(f"tocsin-run-{self.address}", [str(BIN / "tocsin"), "run"],
                             self.workdir, self.env())
        self._sample_memory()

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.popen.poll() is not None:
            raise RuntimeError(f"{self.address} stopped:\n{self.process.tail()}")
        return NODE_READY in self.process.log_path.read_text(errors="replace")


def _sqlite_scalar(path: Path, sql: str, *params: object) -> object:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


async def _scalar(node: WaveNode, sql: str, *params: object) -> object:
    if node.database_file is not None:
        return await asyncio.to_thread(_sqlite_scalar, node.database_file, sql, *params)
    conn = await asyncpg.connect(node.dsn)
    try:
        return await conn.fetchval(sql.replace("?", "$1"), *params)
    finally:
        await conn.close()


async def run(bench: Bench) -> None:
    workdir = bench.workdir / "wave"
    workdir.mkdir(exist_ok=True)
    addresses = [f"127.3.0.{i + 1}" for i in range(NODES)]
    port = free_port_on(addresses)
    async with throwaway_database("wave") as dsn:
        nodes = []
        for i, address in enumerate(addresses):
            home = workdir / f"node{i}"
            home.mkdir()
            nodes.append(WaveNode(dsn if i == 0 else "", home, port=port, address=address,
                                  database_file=None if i == 0 else home / "tocsin.db"))
        with running(*nodes):
            for node in nodes:  # `tocsin run` migrates its database before it serves
                node.launch()
            deadline = time.monotonic() + 240
            while not all(node.ready() for node in nodes):
                if time.monotonic() > deadline:
                    raise RuntimeError("the wave's nodes did not all start in 240 s")
                await asyncio.sleep(0.2)
            log(f"wave: {NODES} nodes started")
            await _follow(nodes)
            for wave, title in enumerate(TITLES):
                await _measure(bench, nodes, wave, title)


async def _follow(nodes: list[WaveNode]) -> None:
    """Each node follows its parent with relaying on, and waits for the Accept."""
    def follow(index: int) -> None:
        parent = parent_of(index)
        assert parent is not None
        nodes[index].cli("follow", nodes[parent].actor_id, "--relay-urgent")

    with ThreadPoolExecutor(PARALLEL_CLI) as pool:
        list(pool.map(follow, range(1, NODES)))
    deadline = time.monotonic() + 120
    while True:
        accepted = [await _scalar(node, "SELECT count(*) FROM followings WHERE state = "
                                  "'accepted' AND relay_urgent") for node in nodes[1:]]
        if all(count == 1 for count in accepted):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"follows not all accepted after 120 s: {accepted}")
        await asyncio.sleep(0.2)
    log(f"wave: {NODES - 1} follows accepted, every one relaying urgent callouts")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _received(path: Path, uri: str) -> tuple[float, float] | None:
    """When the activity that brought ``uri`` arrived at this node, and when it was
    processed (the node's own clock: every node runs on this machine)."""
    row = _sqlite_row(path, "SELECT received_at, processed_at FROM inbound_activities "
                      "WHERE type IN ('Create', 'Announce') AND (payload LIKE ?) "
                      "ORDER BY id LIMIT 1", f"%{uri}%")
    if not row or row[1] is None:
        return None
    at = [datetime.fromisoformat(str(value)).replace(tzinfo=UTC).timestamp() for value in row]
    return at[0], at[1]


def _sqlite_row(path: Path, sql: str, *params: object) -> tuple[object, ...] | None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(sql, params).fetchone()
    return tuple(row) if row else None


async def _measure(bench: Bench, nodes: list[WaveNode], wave: int, title: str) -> None:
    await asyncio.sleep(1.0)  # let every worker settle into its idle wait
    pids = [node.process.pid for node in nodes if node.process is not None]
    idle_before = [_cpu_seconds(pid) for pid in pids]
    await asyncio.sleep(IDLE_SAMPLE)
    idle = [(_cpu_seconds(pid) - before) / IDLE_SAMPLE for pid, before in zip(
        pids, idle_before, strict=True)]
    meter = CpuMeter(pids[0], *pids[1:])
    cpu_before = [_cpu_seconds(pid) for pid in pids]
    meter.start()
    until = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%d %H:%M")
    async with seed.node_context(nodes[0]) as context:
        began = time.time()
        uri = await seed.publish_callout(context, title, until, 30)
        committed = time.time()
    seen: dict[int, float] = {0: committed}
    deadline = committed + 60
    while len(seen) < NODES and time.time() < deadline:
        for i, node in enumerate(nodes):
            if i not in seen and await _scalar(
                    node, "SELECT count(*) FROM callouts WHERE uri = ?", uri):
                seen[i] = time.time()
        await asyncio.sleep(0.02)
    cpu = meter.stop()
    spent = [_cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    rss = [node.peak_rss_mb() or 0.0 for node in nodes]
    pss = [node.peak_pss_mb() or 0.0 for node in nodes]
    hops = {i: _received(node.database_file, uri) for i, node in enumerate(nodes)
            if node.database_file is not None}
    for i, hop in hops.items():  # the commit that stored it, by the node's own clock
        if hop is not None and i in seen:
            seen[i] = min(seen[i], hop[1])
    times = sorted(seen[i] - committed for i in seen if i != 0)
    listed = await _listed(nodes, title)
    relayed = [await _scalar(node, "SELECT count(*) FROM relayed_callouts WHERE object_uri = ?",
                             uri) for node in nodes]

    label = "first wave (cold nodes)" if wave == 0 else "second wave (warm)"
    p50 = statistics.median(times) if times else None
    slowest = max(times) if len(times) == NODES - 1 else None
    levels = []
    for level in (1, 2):
        members = [i for i in range(1, NODES) if level_of(i) == level]
        at = [seen[i] - committed for i in members if i in seen]
        arrived = [hops[i][0] - committed for i in members if hops.get(i)]
        handled = [hops[i][1] - hops[i][0] for i in members if hops.get(i)]
        levels.append(
            f"level {level} ({len(members)} nodes): stored by {max(at, default=0):.2f} s, "
            f"POST arrived {min(arrived, default=0):.2f}–{max(arrived, default=0):.2f} s, "
            f"processing took {statistics.median(handled) if handled else 0:.2f} s median, "
            f"{max(handled, default=0):.2f} s max; node CPU "
            f"{statistics.median(spent[i] for i in members) * 1000:.0f} ms median")
    bench.add(Row(f"wave, {label}: root commit → on all 20, max", slowest, "s", None,
                  higher_is_better=False, rss_mb=max(rss), target=5.0,
                  note="; ".join(levels) + f"; the root's CPU {spent[0] * 1000:.0f} ms; idle, "
                       f"each node used {statistics.median(idle) * 1000:.0f} ms of CPU per s "
                       f"({sum(idle):.2f} cores for the 20); "
                       f"publishing at the root {committed - began:.2f} s"))
    bench.add(Row(f"wave, {label}: root commit → on a node, p50", p50, "s", None,
                  higher_is_better=False, rss_mb=max(rss)))
    if wave == 0:
        bench.add(Row("wave: peak PSS of one node", max(pss), "MB", None,
                      higher_is_better=False, rss_mb=max(rss), pss_mb=max(pss), target=250,
                      note=f"peak PSS per node {min(pss):.0f} to {max(pss):.0f} MB, "
                           f"{sum(pss):.0f} MB for the 20 (root on PostgreSQL, 19 on SQLite); "
                           f"peak RSS {min(rss):.0f} to {max(rss):.0f} MB"))
    ok = (len(seen) == NODES and all(count > 0 for count in listed)
          and relayed == [0] + [1] * (NODES - 1))
    bench.note(("OK " if ok else "PROBLEM ")
               + f"wave {wave + 1} check: stored on {len(seen)} of {NODES} nodes; on the "
               f"/callouts page of {sum(1 for count in listed if count > 0)}; relayed once by "
               f"{sum(1 for r in relayed if r == 1)} of the {NODES - 1} followers (counts "
               f"{relayed}; the leaves' relays have no followers to go to)")
    bench.checks.append(ok)
    bench.cpu_note(f"wave {wave + 1} (commit → on all 20)", cpu)


async def _listed(nodes: list[WaveNode], title: str) -> list[int]:
    """How many times each node's public /callouts page names the callout."""
    async with httpx.AsyncClient(timeout=10) as client:
        pages = [await client.get(f"{node.base}/callouts") for node in nodes]
    return [page.text.count(title) if page.status_code == 200 else -1 for page in pages]
