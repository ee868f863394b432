"""Workload 3, vote storm.

One open callout; 5,000 distinct remote accounts (10 on each of 500 loopback
servers 127.2.x.y) each answer it with a signed ``Create{Note}`` vote, as
Mastodon sends poll answers; one voter in ten sends two more copies of its
answer at the same moment (distinct activities: counted once). wrk replays the
6,000 pre-signed requests at the shared inbox. Every voter is unknown to the
node, so its first vote makes it fetch the voter's actor and key from its
server (the real fetch path): exactly once per voter, however many of its
votes arrive together (checked: the servers count the fetches).

Reported: votes/s accepted, how many tally ``Update``s the node published
(coalesced: at most one per callout every few seconds, each delivered to the
voters' servers), and the final tally, which must be exactly 5,000.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

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
    running,
    throwaway_database,
    wrk,
)

SERVERS = 500
PER_SERVER = 10
VOTERS = SERVERS * PER_SERVER
REPEATERS = 10  # every tenth voter answers REPEATS more times at once
REPEATS = 2
SENT = VOTERS + REPEATS * (VOTERS // REPEATERS)
CONNECTIONS = 50
# web processes (TOCSIN_WEB_WORKERS): one per core of this 2-core machine, as the compose file
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
MAX_SECONDS = 240
SETTLE_TIMEOUT = 90


async def run(bench: Bench) -> None:
    assert bench.keys_file is not None
    workdir = bench.workdir / "votes"
    workdir.mkdir(exist_ok=True)
    async with throwaway_database("votes") as dsn:
        node = Node(dsn, workdir, web_workers=WEB_WORKERS)
        node.migrate()
        remote = Remote(hosts_range(2, SERVERS), accounts=PER_SERVER,
                        keys_file=bench.keys_file, workdir=workdir, sample_every=25)
        remote.start()
        with running(remote):
            async with seed.node_context(node) as context:
                until = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
                callout = await seed.publish_callout(
                    context, "Eviction at 14 Elm Court: people needed at the door", until, VOTERS)
            log(f"votes: callout {callout}; pre-signing {VOTERS} votes")
            jobs = []
            for serial in range(VOTERS):
                host = remote.hosts[serial % SERVERS]
                name = f"u{serial // SERVERS}"
                option = "I can come" if serial % 3 else "I can help another way"
                # every REPEATERS-th voter sends the same answer thrice, back to back: the
                # copies arrive together (on both wrk threads), count once, and share the
                # one fetch of the voter's key
                for copy in range(1 + REPEATS * (serial % REPEATERS == 0)):
                    jobs.append((remote.authority(host), name, node.host, "/inbox", "vote",
                                 (serial + copy * VOTERS, node.actor_id, callout, option)))
            payloads.presign(jobs, bench.keys_file, workdir / "shards", shards=2)
            node.start()
            with running(node):
                await remote.set_keys(await node.keys())
                await _measure(bench, node, remote, workdir, callout)


async def _measure(bench: Bench, node: Node, remote: Remote, workdir: object,
                   callout: str) -> None:
    profiler = bench.start_profiler("votes", node, MAX_SECONDS + 30)
    async with seed.node_context(node) as context:
        log(f"votes: wrk -c{CONNECTIONS}, {VOTERS} votes")
        meter = CpuMeter(*node.pids())
        meter.start()
        sampler = PgSampler(node.dsn)
        sampler.start()
        updates_during = 0
        result = await wrk(node.base, "replay.lua", args=[str(workdir / "shards")],
                           duration=MAX_SECONDS, connections=CONNECTIONS, timeout=30,
                           done_dir=workdir / "shards")
        load_end = time.monotonic()
        cpu = meter.stop()
        waits = await sampler.stop()
        updates_during = await seed.scalar(context, (
            "SELECT count(*) FROM outbound_activities WHERE type = 'Update' "
            "AND object_uri = :uri"), uri=callout)
        settled_after = None
        while time.monotonic() - load_end < SETTLE_TIMEOUT:
            pending = await seed.scalar(context, (
                "SELECT (SELECT count(*) FROM inbound_activities "
                "        WHERE state = 'pending' AND error IS NULL)"
                " + (SELECT count(*) FROM callouts c WHERE local AND come_count + help_count"
                "    <> (SELECT count(*) FROM callout_responses r WHERE r.callout_id = c.id))"
                " + (SELECT count(*) FROM deliveries WHERE state = 'pending')"))
            if not pending:
                settled_after = time.monotonic() - load_end
                break
            await asyncio.sleep(0.25)
        tally = await seed.rows(context, (
            "SELECT come_count, help_count, "
            "(SELECT count(*) FROM callout_responses r WHERE r.callout_id = c.id) "
            "FROM callouts c WHERE uri = :uri"), uri=callout)
        updates = await seed.scalar(context, (
            "SELECT count(*) FROM outbound_activities WHERE type = 'Update' "
            "AND object_uri = :uri"), uri=callout)
        deliveries = await seed.count_by_state(context, "deliveries")
        inbound = await seed.count_by_state(context, "inbound_activities")
    bench.stop_profiler(profiler)
    rss, pss = node.peak_rss_mb(), node.peak_pss_mb()
    stats = await remote.stats()
    come, help_, responses = tally[0]
    settled = "NOT" if settled_after is None else f"{settled_after:.1f}"
    accepted = result.count(202)
    refused = sum(n for code, n in result.statuses.items() if code not in (202, 404))
    floors = bench.floors
    bench.add(Row("vote storm: votes accepted/s", accepted / result.duration, "/s",
                  floors.get("vote_accept_per_s"), rss_mb=rss, pss_mb=pss, target=250,
                  note=f"{accepted} of {SENT} ({VOTERS} voters, {SENT - VOTERS} repeats) in "
                       f"{result.duration:.1f} s, "
                       f"p99 {result.p99_ms:.0f} ms, {refused} refused, "
                       f"{result.socket_errors + result.timeouts} socket errors/timeouts; "
                       f"{stats['gets']} actor/key fetches served"))
    bench.add(Row("vote storm: tally Updates sent", updates, "", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss,
                  note=f"coalesced; {updates_during} while votes were arriving; "
                       f"{deliveries.get('done', 0)} deliveries to voters' servers, "
                       f"{stats['by_type'].get('Update', 0)} received; tallies seen "
                       f"{stats['tallies'][-3:]}"))
    bench.add(Row("vote storm: final tally", come + help_, "votes", None, rss_mb=rss,
                  pss_mb=pss, target=VOTERS,
                  note=f"come {come} + help {help_}; {responses} responses stored; "
                       f"settled {settled} s after the load"))
    bench.add(Row("vote storm: node memory, peak PSS", pss, "MB", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=250,
                  note=f"{WEB_WORKERS} web processes (the worker in the first); peak RSS added "
                       f"{rss or 0:.0f} MB"))
    ok = (
        come + help_ == VOTERS
        and responses == VOTERS
        and accepted == SENT
        and stats["gets"] == VOTERS  # every voter's actor and key fetched exactly once
        and max(stats["tallies"], default=0) == VOTERS
        and stats["failed"] == 0
        and stats["not_one_signature"] == 0
    )
    bench.note(("OK " if ok else "PROBLEM ")
               + f"vote check: tally {come}+{help_}={come + help_}, {responses} responses, "
               f"{accepted} accepted, {stats['gets']} key fetches for {VOTERS} voters, "
               f"inbound {inbound}, deliveries {deliveries}, "
               f"last Update seen carried {max(stats['tallies'], default=0)}; sample "
               f"{stats['verified']}/{stats['sampled']} signatures verified")
    bench.checks.append(ok)
    bench.cpu_note("vote storm load", cpu, accepted, "vote")
    bench.note(f"vote storm load, PostgreSQL: {waits}")
