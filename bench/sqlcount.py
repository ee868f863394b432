"""How many database round trips one inbox activity costs, counted in-process.

    python -m bench.sqlcount [N]

Runs the node's ASGI app in this process (its lifespan, its engine, its
background processing) against a throw-away PostgreSQL database, POSTs N
signed ``Create{Note}`` activities from an already-known, followed actor
(key cached), and counts per activity: SQL statements SQLAlchemy sends,
connection checkouts from the pool (each one a pre-ping, which asyncpg
does as BEGIN; ";"; ROLLBACK), and PostgreSQL's own count of transactions.
A diagnostic for the profile findings in README.md, not a benchmark.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import event

from bench import payloads, seed, sigcheck
from bench.harness import Node, Remote, pg_counters, running, throwaway_database
from bench.remote import actor_document

PROFILE = bool(os.environ.get("BENCH_CPROFILE"))


async def main(n: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-sqlcount-"))
    keys = payloads.make_keys(1, workdir / "keys.json")
    private = sigcheck.load_private(__import__("json").loads(keys.read_text())["private"][0])
    async with throwaway_database("sqlcount") as dsn:
        node = Node(dsn, workdir)
        node.migrate()
        remote = Remote(["127.1.9.9"], accounts=1, keys_file=keys, workdir=workdir)
        remote.start()
        with running(remote):
            authority = remote.authority("127.1.9.9")
            async with seed.node_context(node) as context:
                doc = actor_document(f"http://{authority}", "u0", "")
                doc.pop("publicKey")
                await seed.add_remote_actors(context, [doc], relation="followings")
            await _count(node, authority, private, dsn, n)


async def _count(node: Node, authority: str, key: object, dsn: str, n: int) -> None:
    from node.app import create_app
    from node.bootstrap import prepare

    settings = node.settings()
    await prepare(settings, first_admin=False)
    app = create_app(settings)
    statements: Counter[str] = Counter()
    checkouts = [0]
    async with app.router.lifespan_context(app):
        engine = app.state.ctx.engine

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _statement(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
            statements[" ".join(statement.split())[:90]] += 1

        @event.listens_for(engine.sync_engine.pool, "checkout")
        def _checkout(*args):  # type: ignore[no-untyped-def]
            checkouts[0] += 1

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=node.base) as client:

            async def post(serial: int) -> None:
                body = payloads.body_of(payloads.create_note(
                    f"http://{authority}", "u0", serial, node.actor_id))
                headers = sigcheck.sign_post(node.host, "/inbox", body, key,
                                             f"http://{authority}/users/u0#main-key")
                response = await client.post("/inbox", content=body, headers=headers)
                assert response.status_code == 202, response.text

            await post(0)  # fetches and caches the key
            await asyncio.sleep(0.5)
            statements.clear()
            checkouts[0] = 0
            before = await pg_counters(dsn)
            profiler = cProfile.Profile() if PROFILE else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for serial in range(1, n + 1):
                await post(serial)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            await asyncio.sleep(0.5)
    after = await pg_counters(dsn)  # the app's connections are closed: stats flushed
    xacts = (after["xact_commit"] + after["xact_rollback"]
             - before["xact_commit"] - before["xact_rollback"]) - 2  # our two reads
    total = sum(statements.values())
    print(f"per inbox activity (Create{{Note}} from a followed actor, key cached), over {n}:")
    print(f"  {total / n:.1f} SQL statements, {checkouts[0] / n:.1f} pool checkouts "
          f"(pre-ping each), {xacts / n:.1f} PostgreSQL transactions")
    print(f"  {1000 * cpu / n:.2f} ms CPU and {1000 * wall / n:.2f} ms wall each, one at a time "
          "(this process: client, app and its background processing)")
    for statement, count in statements.most_common():
        print(f"  {count / n:5.2f}  {statement}")
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
