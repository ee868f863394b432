"""Workload 2, fan-out delivery.

10,000 followers on 1,000 servers (10 accounts on each of 127.0.1.1 …
127.0.4.250, all served by one ``bench.remote`` process with one socket per
address) are put in the database; then one local event is created through
the node's own service, which writes the event, its ``Create`` and one
delivery row per shared inbox (1,000) in one commit. The running ``tocsin
run`` process's worker delivers them from that durable queue.

Reported: time from the commit to the last delivery received, deliveries/s,
the node's peak RSS; the sink checks that every POST carries exactly one
signature and verifies a sample. In the same place, the floor: the same
body signed and POSTed to the same 1,000 inboxes with raw asyncio streams
(and, for comparison, with an ``httpx.AsyncClient``), concurrency 100.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import seed, sigcheck
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
)
from bench.remote import actor_document

SERVERS = 1000
PER_SERVER = 10
CONCURRENCY = 100


async def run(bench: Bench) -> None:
    assert bench.keys_file is not None
    workdir = bench.workdir / "fanout"
    workdir.mkdir(exist_ok=True)
    async with throwaway_database("fanout") as dsn:
        node = Node(dsn, workdir)
        node.migrate()
        remote = Remote(hosts_range(0, SERVERS), accounts=PER_SERVER,
                        keys_file=bench.keys_file, workdir=workdir, sample_every=10)
        remote.start()
        with running(remote):
            async with seed.node_context(node) as context:
                docs = []
                for host in remote.hosts:
                    for i in range(PER_SERVER):
                        doc = actor_document(f"http://{remote.authority(host)}", f"u{i}", "")
                        doc.pop("publicKey")
                        docs.append(doc)
                await seed.add_remote_actors(context, docs, relation="followers")
            log(f"fanout: {len(docs)} followers on {SERVERS} servers stored")
            node.start()
            with running(node):
                await remote.set_keys(await node.keys())
                await _measure(bench, node, remote)


async def _measure(bench: Bench, node: Node, remote: Remote) -> None:
    await asyncio.sleep(1.5)  # let the worker settle into its idle wait
    await remote.reset()
    profiler = bench.start_profiler("fanout", node, 30)
    async with seed.node_context(node) as context:
        start = datetime.now(UTC) + timedelta(days=7)
        meter = CpuMeter(node.process.pid if node.process else None)
        meter.start()
        sampler = PgSampler(node.dsn)
        sampler.start()
        counters = await pg_counters(node.dsn)
        began = time.time()
        await seed.publish_event(
            context, "Elm Court tenants' assembly", start.strftime("%Y-%m-%d 19:00"),
            start.strftime("%Y-%m-%d 21:00"))
        committed = time.time()
        log(f"fanout: Create committed with its deliveries in {committed - began:.2f} s")
        stats = await remote.stats()
        while stats["posts"] < SERVERS and time.time() - committed < 120:
            await asyncio.sleep(0.1)
            stats = await remote.stats()
        deadline = time.time() + 60
        while time.time() < deadline:
            pending = await seed.scalar(
                context, "SELECT count(*) FROM deliveries WHERE state = 'pending'")
            if not pending:
                break
            await asyncio.sleep(0.1)
        cpu = meter.stop()
        waits = await sampler.stop()
        after = await pg_counters(node.dsn)
        commits = after["xact_commit"] - counters["xact_commit"]
        states = await seed.count_by_state(context, "deliveries")
        body = await seed.scalar(
            context, "SELECT body FROM outbound_activities WHERE type = 'Create'")
    bench.stop_profiler(profiler)
    rss, pss = node.peak_rss_mb(), node.peak_pss_mb()
    total = (stats["last_post"] or committed) - committed
    span = (stats["last_post"] or 0) - (stats["first_post"] or 0)
    lag = (stats["first_post"] or committed) - committed

    floor_raw, floor_httpx = await _floors(bench, remote, body.encode())
    bench.floors.values["fanout_raw_s"] = floor_raw
    bench.floors.values["fanout_httpx_s"] = floor_httpx
    bench.add(Row("fan-out: commit → last of 1,000 deliveries", total, "s", floor_raw,
                  higher_is_better=False, rss_mb=rss, pss_mb=pss, target=2.0,
                  note=f"pick-up {lag:.2f} s (worker idle poll), first → last {span:.2f} s; "
                       f"enqueue (10,000 followers → 1,000 rows) {committed - began:.2f} s"))
    bench.add(Row("fan-out: deliveries/s", stats["posts"] / total if total > 0 else None, "/s",
                  SERVERS / floor_raw, rss_mb=rss,
                  note=f"{SERVERS / span:.0f}/s first → last" if span > 0 else ""))
    raw_cpu = bench.floors.get("fanout_raw_cpu_s")
    bench.add(Row("fan-out: CPU per delivery", 1000 * cpu["node"] / SERVERS, "ms",
                  1000 * raw_cpu / SERVERS if raw_cpu else None, higher_is_better=False,
                  rss_mb=rss, note="the node's CPU from the commit until every outcome is "
                  "recorded (claim, sign, POST, record); floor: the raw-streams client's CPU "
                  "(sign, POST); a ratio other work on the machine moves less than the times"))
    bench.add(Row("fan-out: node memory, peak PSS", pss, "MB", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=250))
    bench.add(Row("fan-out floor: node's httpx client, same 1,000", floor_httpx, "s", floor_raw,
                  higher_is_better=False,
                  note="information: federation.netguard.make_client, concurrency 100"))
    bench.add(Row("fan-out floor: aiohttp, same 1,000", bench.floors.get("fanout_aiohttp_s"), "s",
                  floor_raw, higher_is_better=False,
                  note="information: the library the node delivers with, alone"))
    aiohttp_cpu = bench.floors.get("fanout_aiohttp_cpu_s")
    bench.add(Row("fan-out floor: aiohttp, CPU per POST",
                  1000 * aiohttp_cpu / SERVERS if aiohttp_cpu else None, "ms",
                  1000 * raw_cpu / SERVERS if raw_cpu else None, higher_is_better=False,
                  note="information: what the node's CPU per delivery is to be read against "
                  "(sign, POST, close: all inside the CPU figure, the close outside its time)"))
    ok = (
        stats["posts"] == SERVERS
        and stats["hosts_posted_to"] == SERVERS
        and stats["not_one_signature"] == 0
        and stats["failed"] == 0
        and stats["unknown_key"] == 0
        and stats["verified"] > 0
        and states.get("done", 0) == SERVERS
    )
    bench.note(
        ("OK " if ok else "PROBLEM ")
        + f"fan-out check: {stats['posts']} POSTs to {stats['hosts_posted_to']} servers "
        f"(max {stats['max_posts_per_host']} per server), {stats['not_one_signature']} "
        f"without exactly one signature, sample of {stats['sampled']}: {stats['verified']} "
        f"verified, {stats['failed']} failed, {stats['unknown_key']} unknown key; "
        f"deliveries {states}"
    )
    bench.checks.append(ok)
    bench.cpu_note("fan-out (enqueue → all recorded)", cpu, SERVERS, "delivery")
    bench.note(f"fan-out, PostgreSQL: {commits} commits (the bench's own polls included); "
               f"{waits}")


async def _floors(bench: Bench, remote: Remote, body: bytes) -> tuple[float, float]:
    """Sign and POST ``body`` once to each server's shared inbox: raw streams, then httpx,
    then aiohttp (a candidate client for the delivery hot path)."""
    assert bench.keys_file is not None
    pems = json.loads(bench.keys_file.read_text())
    key = sigcheck.load_private(pems["private"][0])
    key_id = "http://127.0.0.1/bench-floor#main-key"
    await remote.set_keys({key_id: pems["public"][0]})
    targets = [remote.authority(host) for host in remote.hosts]

    await remote.reset()
    cpu_before = time.process_time()
    raw = await _raw_streams(targets, remote.port, body, key, key_id)
    bench.floors.values["fanout_raw_cpu_s"] = time.process_time() - cpu_before
    stats = await remote.stats()
    if stats["posts"] != len(targets) or stats["failed"]:
        bench.note(f"PROBLEM fan-out floor (raw): {stats['posts']} POSTs, {stats['failed']} bad")

    await remote.reset()
    with_httpx = await _httpx(targets, body, key, key_id)
    stats = await remote.stats()
    if stats["posts"] != len(targets) or stats["failed"]:
        bench.note(f"PROBLEM fan-out floor (httpx): {stats['posts']} POSTs, {stats['failed']} bad")
    await remote.reset()
    cpu_before = time.process_time()
    with_aiohttp = await _aiohttp(targets, body, key, key_id)
    bench.floors.values["fanout_aiohttp_cpu_s"] = time.process_time() - cpu_before
    stats = await remote.stats()
    if stats["posts"] != len(targets) or stats["failed"]:
        bench.note(f"PROBLEM fan-out floor (aiohttp): {stats['posts']} POSTs, "
                   f"{stats['failed']} bad")
    bench.floors.values["fanout_aiohttp_s"] = with_aiohttp
    log(f"fanout floor: raw streams {raw:.3f} s, httpx {with_httpx:.3f} s, "
        f"aiohttp {with_aiohttp:.3f} s")
    return raw, with_httpx


async def _raw_streams(targets: list[str], port: int, body: bytes, key: Any,
                       key_id: str) -> float:
    slots = asyncio.Semaphore(CONCURRENCY)

    async def post(authority: str) -> None:
        async with slots:
            headers = sigcheck.sign_post(authority, "/inbox", body, key, key_id)
            head = "".join(f"{k.title()}: {v}\r\n" for k, v in headers.items())
            request = (f"POST /inbox HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n"
                       "Connection: close\r\n\r\n").encode() + body
            reader, writer = await asyncio.open_connection(authority.rsplit(":", 1)[0], port)
            writer.write(request)
            status = await reader.readline()
            assert b" 202 " in status, status
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(post(t) for t in targets))
    return time.perf_counter() - started


async def _aiohttp(targets: list[str], body: bytes, key: Any, key_id: str) -> float:
    import aiohttp

    slots = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(authority: str) -> None:
            async with slots:
                headers = sigcheck.sign_post(authority, "/inbox", body, key, key_id)
                async with session.post(f"http://{authority}/inbox", data=body,
                                        headers=headers) as response:
                    assert response.status == 202
                    await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(post(t) for t in targets))
        return time.perf_counter() - started


async def _httpx(targets: list[str], body: bytes, key: Any, key_id: str) -> float:
    """Through the client the node itself delivers with (``federation.netguard.make_client``:
    httpx with the address guard, its default limits)."""
    from federation.netguard import make_client

    slots = asyncio.Semaphore(CONCURRENCY)
    async with make_client(allow_private=True) as client:

        async def post(authority: str) -> None:
            async with slots:
                headers = sigcheck.sign_post(authority, "/inbox", body, key, key_id)
                response = await client.post(f"http://{authority}/inbox", content=body,
                                             headers=headers)
                assert response.status_code == 202

        started = time.perf_counter()
        await asyncio.gather(*(post(t) for t in targets))
        return time.perf_counter() - started
