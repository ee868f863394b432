"""Workload 1, inbox ingestion.

100 remote actors on 100 loopback servers (127.1.0.1 … 127.1.0.100, served by
``bench.remote``), all followed by the node, send distinct pre-signed
``Create{Note}`` and ``Create{Event}`` activities (about 2.4 KB each) to the
shared inbox of a real ``tocsin run`` process on PostgreSQL; wrk replays them
(each exactly once) with ``replay.lua``. The node resolves each key through
its real fetch path the first time, then from its cache.

Reported: accepted/s (202s over wrk's run), processed/s (activities marked
processed, from the start of the run until the queue is drained), p50/p99,
errors, the node's peak RSS; then every 202 is checked to be in the
database and processed.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench import payloads, seed
from bench.harness import (
    Bench,
    CpuMeter,
    Node,
    PgSampler,
    Remote,
    Row,
    hosts_range,
    log,
    pg_counters,
    running,
    throwaway_database,
    wrk,
)
from bench.remote import actor_document

ACTORS = 100
# web processes (TOCSIN_WEB_WORKERS): one per core of this 2-core machine
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
CONNECTIONS = 50
MAX_SECONDS = 20
DRAIN_TIMEOUT = 180


async def run(bench: Bench, *, requests: int = 16_000) -> None:
    await _run(bench, requests=requests, split=False)


async def run_split(bench: Bench, *, requests: int = 16_000) -> None:
    """The same load on the production shape: `tocsin web` records and answers,
    one `tocsin worker` process (woken by NOTIFY) processes."""
    await _run(bench, requests=requests, split=True)


async def _run(bench: Bench, *, requests: int, split: bool) -> None:
    assert bench.keys_file is not None
    label = "inbox, web + worker" if split else "inbox"
    workdir = bench.workdir / ("inbox-split" if split else "inbox")
    workdir.mkdir(exist_ok=True)
    async with throwaway_database("inbox") as dsn:
        node = Node(dsn, workdir, web_workers=WEB_WORKERS)
        node.migrate()
        remote = Remote(hosts_range(1, ACTORS), accounts=1, keys_file=bench.keys_file,
                        workdir=workdir)
        remote.start()
        with running(remote):
            async with seed.node_context(node) as context:
                docs = [actor_document(f"http://{remote.authority(h)}", "u0", "")
                        for h in remote.hosts]
                for doc in docs:  # the node keeps its own copy; the key comes by fetching
                    doc.pop("publicKey")
                await seed.add_remote_actors(context, docs, relation="followings")
            log(f"inbox: pre-signing {requests} activities from {ACTORS} actors")
            started = time.perf_counter()
            jobs = []
            for serial in range(requests):
                authority = remote.authority(remote.hosts[serial % ACTORS])
                kind = "event" if serial % 2 else "note"
                jobs.append((authority, "u0", node.host, "/inbox", kind, (serial, node.actor_id)))
            payloads.presign(jobs, bench.keys_file, workdir / "shards", shards=2)
            log(f"inbox: signed in {time.perf_counter() - started:.1f} s")
            if split:
                node.start("web")
                node.start_worker()
            else:
                node.start()
            with running(node):
                before, recorded = await _measure(bench, node, remote, workdir, requests, label)
            after = await pg_counters(dsn)  # the node has stopped: its statistics are flushed
            xacts = (after["xact_commit"] + after["xact_rollback"]
                     - before["xact_commit"] - before["xact_rollback"])
            bench.note(f"{label}: PostgreSQL counted {xacts / max(recorded, 1):.1f} transactions "
                       f"({(after['xact_commit'] - before['xact_commit']) / max(recorded, 1):.1f}"
                       f" commits) per activity recorded, from the start of the load until "
                       f"the node stopped")


async def _measure(bench: Bench, node: Node, remote: Remote, workdir: Any,
                   offered: int, label: str) -> tuple[dict[str, int], int]:
    profiler = bench.start_profiler("inbox-split" if node.worker else "inbox", node,
                                    MAX_SECONDS + 30)
    before = await pg_counters(node.dsn)
    async with seed.node_context(node) as context:
        log(f"inbox: wrk -c{CONNECTIONS} for at most {MAX_SECONDS} s")
        meter = CpuMeter(*node.pids())
        meter.start()
        sampler = PgSampler(node.dsn)
        sampler.start()
        result = await wrk(node.base, "replay.lua", args=[str(workdir / "shards")],
                           duration=MAX_SECONDS, connections=CONNECTIONS, timeout=30,
                           done_dir=workdir / "shards")
        load_end = time.monotonic()
        cpu = meter.stop()
        waits = await sampler.stop()
        at_end = await seed.count_by_state(context, "inbound_activities")
        drained_after = None
        while time.monotonic() - load_end < DRAIN_TIMEOUT:
            states = await seed.count_by_state(context, "inbound_activities")
            waiting = await seed.scalar(
                context, "SELECT count(*) FROM inbound_activities "
                "WHERE state = 'pending' AND error IS NULL")
            if not waiting:
                drained_after = time.monotonic() - load_end
                break
            await asyncio.sleep(0.2)
        states = await seed.count_by_state(context, "inbound_activities")
        errors_kept = await seed.scalar(
            context, "SELECT count(*) FROM inbound_activities WHERE error IS NOT NULL")
        events = await seed.scalar(context, "SELECT count(*) FROM events WHERE NOT local")
        notes = await seed.scalar(context, "SELECT count(*) FROM remote_notes")
        keys = await seed.scalar(context, "SELECT count(*) FROM remote_keys")
    bench.stop_profiler(profiler)
    rss, pss = node.peak_rss_mb(), node.peak_pss_mb()
    stats = await remote.stats()

    accepted = result.count(202)
    processed = states.get("done", 0) + states.get("ignored", 0)
    recorded = sum(states.values())
    refused = sum(n for code, n in result.statuses.items() if code not in (202, 404))
    errors = refused + result.socket_errors + result.timeouts
    window = result.duration + (drained_after if drained_after is not None else DRAIN_TIMEOUT)
    floors = bench.floors
    bench.add(Row(f"{label}: accepted/s", accepted / result.duration, "/s",
                  floors.get("inbox_accept_per_s"), rss_mb=rss, pss_mb=pss, target=2000,
                  note=f"{accepted} accepted of {result.answered} answered "
                       f"({offered} pre-signed) in {result.duration:.1f} s, c={CONNECTIONS}"))
    bench.add(Row(f"{label}: processed/s (until drained)", processed / window, "/s",
                  floors.get("inbox_process_per_s"), rss_mb=rss, pss_mb=pss, target=1000,
                  note=f"{processed} processed in {window:.1f} s; "
                       f"{at_end.get('done', 0) + at_end.get('ignored', 0)} by the end of load, "
                       f"drained {drained_after if drained_after is not None else 'NOT'} "
                       f"{'s' if drained_after is not None else ''} after"))
    bench.add(Row(f"{label}: p50 latency", result.p50_ms, "ms", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss))
    bench.add(Row(f"{label}: p99 latency", result.p99_ms, "ms", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=50, note=f"max {result.max_ms:.0f} ms"))
    bench.add(Row(f"{label}: errors", errors, "", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=0,
                  note=f"statuses {dict(sorted(result.statuses.items()))}, socket "
                       f"{result.socket_errors}, timeouts {result.timeouts}"))
    processes = node.memory.processes() if node.memory is not None else 0
    bench.add(Row(f"{label}: node memory, peak PSS", pss, "MB", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=250,
                  note=f"the sum of each of {processes} processes' peak PSS; their peak RSS "
                       f"(VmHWM) added: {rss or 0:.0f} MB"))
    lost = accepted - recorded  # recorded may exceed accepted by the requests in flight at the end
    check = (
        f"{label} check: {accepted} answered 202, {recorded} recorded "
        f"({states}), {errors_kept} with an error kept; stored {events} events + {notes} notes; "
        f"{keys} keys cached after {stats['gets']} key fetches"
    )
    ok = lost <= 0 and processed == recorded and not errors_kept
    bench.note(("OK " if ok else "PROBLEM ") + check)
    bench.cpu_note(f"{label} load", cpu, accepted, "accepted activity")
    bench.note(f"{label} load, PostgreSQL: {waits}")
    bench.checks.append(ok)
    return before, recorded
