"""Workload 4, public reads.

A node holding 10,000 events of its own and 100,000 from 200 followed nodes
(500 each, stored as the node stores what it receives, original JSON kept),
put straight into the database. Each public read is then put under wrk for
20 s: the home page, one event page, the federation calendar page, the
``.ics`` feeds and the actor JSON. Pages that do not exist yet in
``node/web`` are found by looking at the app's routes: when there is no
calendar page, the actor's ``upcomingEvents`` collection
(``/actors/NAME/events``) stands in and the table says so; when there is no
``.ics`` feed, that row says so.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import payloads, seed
from bench.harness import (
    Bench,
    CpuMeter,
    Node,
    Row,
    hosts_range,
    log,
    running,
    throwaway_database,
    wrk,
)

OWN = 10_000
NODES = 200
PER_NODE = 500
SECONDS = 20
CONNECTIONS = 50
HTML = "text/html,application/xhtml+xml"
AS2 = "application/activity+json"


async def run(bench: Bench) -> None:
    workdir = bench.workdir / "reads"
    workdir.mkdir(exist_ok=True)
    async with throwaway_database("reads") as dsn:
        node = Node(dsn, workdir)
        node.migrate()
        log(f"reads: storing {OWN} own events and {NODES * PER_NODE} from {NODES} nodes")
        async with seed.node_context(node) as context:
            await _populate(context, node)
        node.start()
        with running(node):
            await _measure(bench, node)


async def _populate(context: Any, node: Node) -> None:
    from node.ap.remote_events import as_event_to_remote_event
    from node.content.events import EventForm, event_values

    rng = random.Random(6)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hosts = [f"{h}:443" for h in hosts_range(3, NODES)]
    groups = []
    for host in hosts:
        actor = f"http://{host}/actors/network"
        groups.append({
            "id": actor, "type": "Group", "preferredUsername": "network",
            "name": f"Network at {host}", "summary": "A local network",
            "inbox": f"{actor}/inbox", "endpoints": {"sharedInbox": f"http://{host}/inbox"},
            "url": f"http://{host}/",
        })
    await seed.add_remote_actors(context, groups, relation="followings")

    own_template = event_values(EventForm(
        title="Reading group", start="2030-01-01 19:00", end="2030-01-01 21:00",
        location="Elm Court community hall", address="12 Elm Court Road, London N15 4QS",
        description="We read *The Right to the City* together.\n\nBring the book if you "
                    "have it; copies to lend.", tags=["reading", "housing"],
    ), "Europe/London")
    rows = []
    for i in range(OWN):
        start = now + timedelta(days=rng.randint(-30, 365), hours=rng.randint(8, 20))
        rows.append({
            **own_template, "title": f"Reading group {i}", "starts_at": start,
            "ends_at": start + timedelta(hours=2), "uri": f"pending-{i}", "url": "",
            "local": True, "actor_uri": node.actor_id, "origin_domain": node.host,
            "status": "scheduled", "summary_text": "", "raw": None,
        })
    for n, host in enumerate(hosts):
        actor = groups[n]["id"]
        base = f"http://{host}"
        template = payloads.create_event(base, "network", 0, node.actor_id)["object"]
        template["attributedTo"] = actor
        values = as_event_to_remote_event(template)
        for i in range(PER_NODE):
            start = now + timedelta(days=rng.randint(-30, 365), hours=rng.randint(8, 20))
            uri = f"{base}/events/{i}"
            doc = {**template, "id": uri, "url": uri, "name": f"Assembly {i} at {host}",
                   "startTime": payloads.iso(start),
                   "endTime": payloads.iso(start + timedelta(hours=2))}
            rows.append({
                **values, "uri": uri, "url": uri, "title": doc["name"], "raw": doc,
                "starts_at": start, "ends_at": start + timedelta(hours=2),
                "actor_uri": actor, "origin_domain": host,
            })
    await seed.add_events(context, rows)
    await seed.scalar(context, "SELECT 1")
    async with context.sessions() as session:
        from sqlalchemy import text

        await session.execute(text("ANALYZE"))


def _discover(node: Node) -> tuple[str | None, list[str]]:
    """The calendar page and the .ics feeds, if the app has them."""
    from starlette.routing import Route

    from node.app import create_app

    app = create_app(node.settings())
    paths = [r.path for r in app.routes if isinstance(r, Route)]

    def usable(path: str) -> str | None:
        path = path.replace("{username:str}", node.name).replace("{username}", node.name)
        return None if "{" in path else path

    calendar = next((p for p in map(usable, paths) if p and "calendar" in p
                     and not p.endswith(".ics")), None)
    ics = [p for p in map(usable, paths) if p and p.endswith(".ics")]
    return calendar, ics


async def _measure(bench: Bench, node: Node) -> None:
    calendar, ics = _discover(node)
    async with seed.node_context(node) as context:
        event_id = await seed.scalar(
            context, "SELECT id FROM events WHERE local AND ends_at > now() "
            "ORDER BY starts_at LIMIT 1 OFFSET 100")
    targets: list[tuple[str, str | None, str, float | None, str]] = [
        ("reads: home page", "/", HTML, None, ""),
        ("reads: event page", f"/events/{event_id}", HTML, None, ""),
    ]
    if calendar:
        targets.append(("reads: calendar page", calendar, HTML, 800, ""))
    else:
        targets.append(("reads: calendar (stand-in)", f"/actors/{node.name}/events", AS2, 800,
                        "no calendar page in node/web yet: /actors/NAME/events measured"))
    for path in ics:
        targets.append((f"reads: .ics feed {path}", path, "text/calendar", None, ""))
    if not ics:
        targets.append(("reads: .ics feed", None, "", None, "no .ics feed in node/web yet"))
    targets.append(("reads: actor JSON", f"/actors/{node.name}", AS2, 5000, ""))

    floor = bench.floors.get("starlette_rps")
    profiler = bench.start_profiler("reads", node, SECONDS * len(targets) + 10)
    async with httpx.AsyncClient(base_url=node.base, timeout=120) as client:
        for name, path, accept, target, note in targets:
            if path is None:
                bench.add(Row(name, None, "req/s", None, note=note))
                continue
            warm = await client.get(path, headers={"Accept": accept})
            size = len(warm.content)
            log(f"reads: {path} ({warm.status_code}, {size} bytes) for {SECONDS} s")
            meter = CpuMeter(node.process.pid if node.process else None)
            meter.start()
            result = await wrk(f"{node.base}{path}", "get.lua", args=[accept], duration=SECONDS,
                               connections=CONNECTIONS)
            bench.cpu_note(name, meter.stop(), result.count(200), "request")
            await client.get("/", headers={"Accept": HTML})  # the node has caught up
            bad = sum(n for code, n in result.statuses.items() if code != 200)
            errors = bad + result.socket_errors + result.timeouts
            bench.add(Row(name, result.count(200) / result.duration, "req/s", floor,
                          rss_mb=node.peak_rss_mb(), pss_mb=node.peak_pss_mb(),
                          target=target,
                          note=f"{path}: p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
                               f", {errors} errors, {size} B" + (f"; {note}" if note else "")))
            if target is not None:
                bench.add(Row(f"{name}: p99", result.p99_ms, "ms", None,
                              higher_is_better=False, target=50))
    bench.stop_profiler(profiler)
