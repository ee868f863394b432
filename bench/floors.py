"""Workload 5, the floors: the unavoidable work alone, measured in the same run.

- a whole draft-cavage check of one inbox POST with the key cached (the
  bench's minimal verifier; and, beside it, ``federation.httpsig``'s);
- one RSA-2048 signature;
- ``json.loads`` and ``orjson.loads`` of a 2.3 KB activity;
- one asyncpg INSERT of a 2.2 KB jsonb row: sequential (one connection,
  one commit per row), 16 concurrent connections, batches of 100;
- a bare Starlette JSON response under the same wrk settings as the reads,
  served by uvicorn exactly as ``tocsin`` serves (uvloop, httptools).

Each workload's floor is composed from these (see README.md); the fan-out
floor is measured inside the fan-out workload, against the same sink.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import payloads, sigcheck
from bench.harness import Bench, CpuMeter, Row, free_port, log, start, throwaway_database, wrk

SECONDS = 10
CONNECTIONS = 50


def per_call_us(fn: Callable[[], Any], *, min_time: float = 0.5) -> float:
    """Best of five rounds, each at least ``min_time`` / 5 seconds."""
    n = 1
    while True:
        started = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - started
        if elapsed > min_time / 5:
            break
        n *= 2
    best = elapsed
    for _ in range(4):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def activity_body() -> bytes:
    """A 2.3 KB Create{Event}, as Mobilizon sends one."""
    doc = payloads.create_event("https://mobilizon.example", "elmcourt", 4321,
                                "https://tocsin.example/actors/network")
    doc["object"].pop("attachment")
    return payloads.body_of(doc)


async def cpu_floors(bench: Bench) -> None:
    import orjson

    keys = json.loads(bench.keys_file.read_text())  # type: ignore[union-attr]
    key = sigcheck.load_private(keys["private"][0])
    public = key.public_key()
    body = activity_body()
    key_id = "https://mobilizon.example/users/elmcourt#main-key"
    headers = sigcheck.sign_post("tocsin.example", "/inbox", body, key, key_id)
    assert sigcheck.verify("POST", "/inbox", headers, body, public)
    values = bench.floors.values
    values["activity_bytes"] = len(body)
    values["verify_us"] = per_call_us(
        lambda: sigcheck.verify("POST", "/inbox", dict(headers), body, public))
    values["verify_ours_us"] = await _ours(headers, body, public, key_id)
    values["sign_us"] = per_call_us(lambda: sigcheck.sign_post(
        "tocsin.example", "/inbox", body, key, key_id, date="Tue, 01 Dec 2026 10:00:00 GMT"))
    values["json_loads_us"] = per_call_us(lambda: json.loads(body))
    values["orjson_loads_us"] = per_call_us(lambda: orjson.loads(body))


async def _ours(headers: dict[str, str], body: bytes, public: Any, key_id: str) -> float:
    """The same check through ``federation.httpsig.verify_request`` (key cached in memory)."""
    from federation.httpsig import verify_request
    from federation.signed import PublicKeyInfo, SignedRequest

    info = PublicKeyInfo(key_id, key_id.split("#")[0], public)

    async def lookup(_: str, *, refresh: bool) -> PublicKeyInfo:
        return info

    pairs = [(k.title(), v) for k, v in headers.items()]
    now = datetime.now(UTC)

    async def many(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            request = SignedRequest("POST", "/inbox", "", pairs, body, scheme="https")
            await verify_request(request, key_lookup=lookup, now=now)
        return time.perf_counter() - started

    n = 2000
    best = min([await many(n) for _ in range(3)])
    return best / n * 1e6


async def insert_floors(bench: Bench) -> None:
    doc = json.loads(activity_body())
    doc["object"]["tag"].pop()  # about 2.2 KB, as stored
    payload = json.dumps(doc, separators=(",", ":"))
    values = bench.floors.values
    async with throwaway_database("floors") as dsn:
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            "CREATE TABLE floor_rows (id bigserial PRIMARY KEY, uri text UNIQUE NOT NULL, "
            "payload jsonb NOT NULL, state text NOT NULL, received_at timestamptz NOT NULL)")
        sql = ("INSERT INTO floor_rows (uri, payload, state, received_at) "
               "VALUES ($1, $2::jsonb, 'pending', now())")
        serial = iter(range(10**9))

        n = 2000
        started = time.perf_counter()
        for _ in range(n):
            await conn.execute(sql, f"https://r.example/{next(serial)}", payload)
        values["insert_seq_us"] = (time.perf_counter() - started) / n * 1e6

        pool = await asyncpg.create_pool(dsn, min_size=16, max_size=16)
        per_conn = 500

        async def worker() -> None:
            async with pool.acquire() as c:
                for _ in range(per_conn):
                    await c.execute(sql, f"https://r.example/{next(serial)}", payload)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(16)))
        values["insert_conc16_us"] = (time.perf_counter() - started) / (16 * per_conn) * 1e6
        await pool.close()

        batches = 60
        started = time.perf_counter()
        for _ in range(batches):
            async with conn.transaction():
                await conn.executemany(
                    sql, [(f"https://r.example/{next(serial)}", payload) for _ in range(100)])
        values["insert_batch100_us"] = (time.perf_counter() - started) / (batches * 100) * 1e6
        values["row_bytes"] = len(payload)
        await conn.close()
        values["round_trip_us"], values["round_trip_cpu_us"] = await _round_trip(dsn)
        values["round_trip_uvloop_us"], values["round_trip_uvloop_cpu_us"] = await (
            asyncio.to_thread(_round_trip_on_uvloop, dsn))


async def _round_trip(dsn: str, n: int = 3000) -> tuple[float, float]:
    """One asyncpg round trip (SELECT 1): wall and client CPU, in µs."""
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(200):
            await conn.fetchval("SELECT 1")
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            await conn.fetchval("SELECT 1")
        return ((time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6)
    finally:
        await conn.close()


def _round_trip_on_uvloop(dsn: str) -> tuple[float, float]:
    import uvloop

    return uvloop.run(_round_trip(dsn))


async def starlette_floor(bench: Bench) -> None:
    port = free_port()
    server = start(
        "bare-starlette",
        [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "info"],
        bench.workdir, ready_line="Uvicorn running on",
    )
    try:
        log(f"floors: bare Starlette JSON under wrk -c{CONNECTIONS} for {SECONDS} s")
        meter = CpuMeter(server.pid)
        meter.start()
        result = await wrk(f"http://127.0.0.1:{port}/", "get.lua", args=[""],
                           duration=SECONDS, connections=CONNECTIONS)
        bench.cpu_note("floor: bare Starlette", meter.stop(), result.count(200), "request")
        bench.floors.values["starlette_rps"] = result.count(200) / result.duration
        bench.floors.values["starlette_p99_ms"] = result.p99_ms
        bench.floors.values["starlette_rss_mb"] = server.peak_rss_mb() or 0
    finally:
        server.stop()


def compose(bench: Bench) -> None:
    """Each workload's floor from the measured parts (README.md explains each sum)."""
    v = bench.floors.values
    http_us = 1e6 / v["starlette_rps"]
    v["inbox_accept_per_s"] = 1e6 / (v["verify_us"] + v["orjson_loads_us"]
                                     + v["insert_conc16_us"] + http_us)
    v["inbox_process_per_s"] = 1e6 / (v["orjson_loads_us"] + 2 * v["insert_batch100_us"])
    v["vote_accept_per_s"] = 1e6 / (v["verify_us"] + v["sign_us"] + 2 * v["orjson_loads_us"]
                                    + 2 * v["insert_conc16_us"] + 2 * http_us)


async def run(bench: Bench) -> None:
    log("floors: CPU")
    await cpu_floors(bench)
    log("floors: asyncpg INSERT")
    await insert_floors(bench)
    await starlette_floor(bench)
    compose(bench)
    v = bench.floors.values
    us = "µs"
    bench.add(Row("floor: draft-cavage verify, key cached", v["verify_us"], us,
                  higher_is_better=False, note="bench/sigcheck.py: parse, digest, RSA verify"))
    bench.add(Row("  same via federation.httpsig.verify_request", v["verify_ours_us"], us,
                  v["verify_us"], higher_is_better=False, note="ratio to the minimal check"))
    bench.add(Row("floor: RSA-2048 sign (whole POST signature)", v["sign_us"], us,
                  higher_is_better=False))
    bench.add(Row(f"floor: json.loads {int(v['activity_bytes'])} B activity", v["json_loads_us"],
                  us, v["orjson_loads_us"], higher_is_better=False, note="ratio to orjson"))
    bench.add(Row(f"floor: orjson.loads {int(v['activity_bytes'])} B activity",
                  v["orjson_loads_us"], us, higher_is_better=False))
    row = f"{int(v['row_bytes'])} B jsonb"
    bench.add(Row(f"floor: asyncpg INSERT {row}, sequential", v["insert_seq_us"], us,
                  higher_is_better=False, note="one commit (fsync) per row"))
    bench.add(Row(f"floor: asyncpg INSERT {row}, 16 connections", v["insert_conc16_us"],
                  f"{us}/row", higher_is_better=False))
    bench.add(Row(f"floor: asyncpg INSERT {row}, batches of 100", v["insert_batch100_us"],
                  f"{us}/row", higher_is_better=False))
    bench.add(Row("floor: asyncpg round trip, asyncio loop", v["round_trip_us"], us,
                  higher_is_better=False,
                  note=f"SELECT 1; client CPU {v['round_trip_cpu_us']:.0f} µs (tocsin's loop)"))
    bench.add(Row("floor: asyncpg round trip, uvloop", v["round_trip_uvloop_us"], us,
                  higher_is_better=False,
                  note=f"SELECT 1; client CPU {v['round_trip_uvloop_cpu_us']:.0f} µs"))
    bench.add(Row("floor: bare Starlette JSON, one uvicorn worker", v["starlette_rps"], "req/s",
                  rss_mb=v["starlette_rss_mb"], note=f"p99 {v['starlette_p99_ms']:.1f} ms, "
                  f"wrk -t2 -c{CONNECTIONS}"))
