"""What processing one received activity costs, without the 202 path beside it.

    python -m bench.proccount [N]

Puts N recorded, not yet processed activities in a throw-away PostgreSQL
database (half ``Create{Note}``, half ``Create{Event}``, from 100 followed
actors, the inbox workload's payloads), then has the node's own
``InboundProcessor`` process them in this process, batch by batch, and
reports per activity: CPU time, wall time, SQL statements (by kind) and
PostgreSQL transactions. CPU time is this process's own, so the figure
hardly moves when other work shares the machine; wall time does.
A diagnostic for the inbox workload's processing, not a benchmark.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

from bench import payloads, seed
from bench.harness import Node, pg_counters, throwaway_database
from bench.remote import actor_document

ACTORS = 100
BATCH = int(os.environ.get("BENCH_BATCH", "100"))  # activities claimed at a time
# BENCH_ARRIVAL=R: the rows arrive at R a second, in commits every 10 ms each
# kicking the processor, as the recorder of `tocsin run` does (batches are then
# as large as the processor lets them grow); unset: all are there at the start
ARRIVAL = float(os.environ.get("BENCH_ARRIVAL", "0"))
# BENCH_WORKER=1 (with BENCH_ARRIVAL): each commit wakes a running worker loop
# (``Worker.run_forever``, as NOTIFY does for `tocsin worker`) instead of kicking
WORKER = bool(os.environ.get("BENCH_WORKER"))
PROFILE = bool(os.environ.get("BENCH_CPROFILE"))  # cProfile the processing, print its top


async def main(n: int) -> None:
    from node.models import InboundActivity

    workdir = Path(tempfile.mkdtemp(prefix="tocsin-proccount-"))
    async with throwaway_database("proccount") as dsn:
        node = Node(dsn, workdir)
        node.migrate()
        bases = [f"http://127.1.8.{i + 1}:8000" for i in range(ACTORS)]
        async with seed.node_context(node) as context:
            docs = [actor_document(base, "u0", "") for base in bases]
            await seed.add_remote_actors(context, docs, relation="followings")
            now = datetime.now(UTC)
            rows = []
            for serial in range(n):
                make = payloads.create_event if serial % 2 else payloads.create_note
                doc = make(bases[serial % ACTORS], "u0", serial, node.actor_id)
                rows.append(
                    {
                        "uri": doc["id"],
                        "type": doc["type"],
                        "actor_uri": doc["actor"],
                        "payload": doc,
                        "state": "pending",
                        "attempts": 0,
                        "received_at": now,
                    }
                )
            if ARRIVAL:
                await _arriving(context, dsn, rows)
                return
            async with context.sessions() as session, session.begin():
                await session.execute(insert(InboundActivity), rows)
            await _process(context, dsn, n)


async def _arriving(context: Any, dsn: str, rows: list[dict[str, Any]]) -> None:
    from node.models import InboundActivity

    chunk = max(1, round(ARRIVAL / 100))
    claims = [0]

    @event.listens_for(context.engine.sync_engine, "before_cursor_execute")
    def _claim(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE inbound_activities SET attempts"):
            claims[0] += 1

    from node.worker import Worker

    loop = asyncio.create_task(Worker(context).run_forever()) if WORKER else None
    before = await pg_counters(dsn)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, len(rows), chunk):
        async with context.sessions() as session, session.begin():
            await session.execute(insert(InboundActivity), rows[start : start + chunk])
        if loop is not None:
            context.wake()
        else:
            context.inbound.kick()
        await asyncio.sleep(0.01)
    while await seed.scalar(  # noqa: ASYNC110 - the database is what tells
        context, "SELECT count(*) FROM inbound_activities WHERE state = 'pending'"
    ):
        await asyncio.sleep(0.05)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if loop is not None:
        loop.cancel()
    after = await pg_counters(dsn)
    xacts = (
        after["xact_commit"]
        + after["xact_rollback"]
        - before["xact_commit"]
        - before["xact_rollback"]
    )
    n = len(rows)
    print(
        f"{n} activities arriving at {ARRIVAL:.0f}/s in commits of {chunk}, processed "
        f"in {claims[0]} batches: {1000 * cpu / n:.3f} ms CPU per activity (the "
        f"arrivals' inserts included), {xacts / n:.3f} PostgreSQL transactions per activity, "
        f"all processed {wall:.1f} s after the first arrived"
    )


async def _process(context: object, dsn: str, n: int) -> None:
    engine = context.engine  # type: ignore[attr-defined]
    statements: Counter[str] = Counter()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        statements[" ".join(statement.split())[:80]] += 1

    inbound = context.inbound  # type: ignore[attr-defined]
    before = await pg_counters(dsn)
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0.0]

    def collecting(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append(time.perf_counter() - started[0])

    gc.callbacks.append(collecting)
    profiler = cProfile.Profile() if PROFILE else None
    if profiler:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    done = 0
    while done < n:
        handled = await inbound.run_once(BATCH)
        if not handled:
            break
        done += handled
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(collecting)
    if profiler:
        profiler.disable()
    after = await pg_counters(dsn)
    xacts = (
        after["xact_commit"]
        + after["xact_rollback"]
        - before["xact_commit"]
        - before["xact_rollback"]
    )
    print(f"processed {done} of {n} recorded activities (Create{{Note}}, Create{{Event}}):")
    print(
        f"  {1000 * cpu / done:.3f} ms CPU, {1000 * wall / done:.3f} ms wall, "
        f"{sum(statements.values()) / done:.2f} SQL statements, "
        f"{xacts / done:.3f} PostgreSQL transactions (about) per activity"
    )
    for generation, times in pauses.items():
        if times:
            print(
                f"  GC generation {generation}: {len(times)} collections, "
                f"{1000 * sum(times) / done:.3f} ms per activity, longest "
                f"{1000 * max(times):.1f} ms"
            )
    for statement, count in statements.most_common(12):
        print(f"  {count / done:6.3f}  {statement}")
    if profiler:
        profiler.dump_stats(Path(tempfile.gettempdir()) / "proccount.prof")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
