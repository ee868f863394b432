"""Workload: one urgent callout alerts 1,000 push and 1,000 e-mail subscribers.

1,000 confirmed push subscriptions (each with its own P-256 key pair and auth
secret, as a browser makes them) and 1,000 confirmed e-mail addresses are put
in the database; then one urgent callout is published through the node's own
service, which queues the 2,000 alerts in the same commit. The running ``tocsin
run`` process's worker sends them: push to a loopback RFC 8030 sink (aiohttp,
in the bench process), e-mail to a loopback SMTP server (aiosmtpd, in a thread
of the bench process).

Reported: time from the commit to the last alert received (target: under
10 s), alerts/s, the node's peak RSS. Checked: every subscriber got exactly one
alert; every 50th push message's VAPID JWT is verified and its body decrypted
with the subscriber's key (the title must be the callout's); all jobs done.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import seed
from bench.harness import Bench, CpuMeter, Node, Row, free_port, log, running, throwaway_database

PUSH = 1000
MAIL = 1000
SAMPLE_EVERY = 50
TITLE = "Eviction at 7am on Elm Court"


@dataclass
class AlertNode(Node):
    smtp_url: str = ""

    def env(self) -> dict[str, str]:
        return {**super().env(), "TOCSIN_SMTP_URL": self.smtp_url}


@dataclass
class Sink:
    """Receives push POSTs and e-mails, with the time of each."""

    push_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    keys: dict[str, tuple[Any, bytes]] = field(default_factory=dict)
    push_times: dict[str, float] = field(default_factory=dict)
    push_repeats: int = 0
    mail_times: dict[str, float] = field(default_factory=dict)
    mail_repeats: int = 0
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_push(self, request: Any) -> Any:
        from aiohttp import web

        name = request.match_info["name"]
        body = await request.read()
        if name in self.push_times:
            self.push_repeats += 1
        self.push_times[name] = time.time()
        if int(name) % SAMPLE_EVERY == 0:
            self._check(name, request.headers.get("Authorization", ""), body)
        return web.Response(status=201)

    def done(self) -> bool:
        return len(self.push_times) >= PUSH and len(self.mail_times) >= MAIL

    def _check(self, name: str, authorization: str, body: bytes) -> None:
        import json

        from tests.support.push_service import verify_vapid

        try:
            verify_vapid(authorization, f"http://127.0.0.1:{self.push_port}")
            key, auth = self.keys[name]
            import http_ece

            data = json.loads(http_ece.decrypt(body, private_key=key, auth_secret=auth,
                                               version="aes128gcm"))
            if data.get("title") != f"New callout: {TITLE}":
                raise ValueError(f"title {data.get('title')!r}")
            self.checked += 1
        except Exception as exc:  # reported in the check line
            self.problems.append(f"push {name}: {type(exc).__name__}: {exc}")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                if rcpt in self.mail_times:
                    self.mail_repeats += 1
                self.mail_times[rcpt] = time.time()
        return "250 OK"


def _ensure_aiosmtpd() -> None:
    from importlib.util import find_spec

    if find_spec("aiosmtpd") is None:
        log(f"installing aiosmtpd into {sys.prefix}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "aiosmtpd"],
                       check=True)


async def run(bench: Bench) -> None:
    _ensure_aiosmtpd()
    from aiohttp import web
    from aiosmtpd.controller import Controller

    workdir = bench.workdir / "alerts"
    workdir.mkdir(exist_ok=True)
    sink = Sink()
    app = web.Application()
    app.router.add_post("/push/{name}", sink.handle_push)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sink.push_port).start()
    smtp = Controller(sink, hostname="127.0.0.1", port=sink.smtp_port)
    smtp.start()
    try:
        async with throwaway_database("alerts") as dsn:
            node = AlertNode(dsn, workdir, smtp_url=f"smtp://127.0.0.1:{sink.smtp_port}")
            node.migrate()
            async with seed.node_context(node) as context:
                await _subscribe(context, sink)
            log(f"alerts: {PUSH} push and {MAIL} e-mail subscriptions stored")
            node.start()
            with running(node):
                await _measure(bench, node, sink)
    finally:
        smtp.stop()
        await runner.cleanup()


async def _subscribe(context: Any, sink: Sink) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sqlalchemy import insert

    from node.alerts.models import AlertSubscription
    from tests.support.push_service import b64url

    rows = []
    now = datetime.now(UTC)
    for i in range(PUSH):
        key, auth = ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        sink.keys[str(i)] = (key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        rows.append({"channel": "push", "endpoint": f"http://127.0.0.1:{sink.push_port}/push/{i}",
                     "p256dh": b64url(public), "auth": b64url(auth), "email": None})
    rows += [{"channel": "email", "endpoint": None, "p256dh": None, "auth": None,
              "email": f"s{i}@bench.example"} for i in range(MAIL)]
    for row in rows:
        row.update(confirmed=True, confirm_hash=None, scope="urgent", federated=False,
                   token=secrets.token_urlsafe(32), created_at=now)
    async with context.sessions() as session, session.begin():
        await session.execute(insert(AlertSubscription), rows)


async def _measure(bench: Bench, node: Node, sink: Sink) -> None:
    await asyncio.sleep(1.5)  # let the worker settle into its idle wait
    until = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    meter = CpuMeter(node.process.pid if node.process else None)
    profiler = bench.start_profiler("alerts", node, 20)
    meter.start()
    began = time.time()
    async with seed.node_context(node) as context:
        await seed.publish_callout(context, TITLE, until, 20)
        committed = time.time()
        deadline = committed + 120
        while time.time() < deadline:
            if sink.done():
                break
            await asyncio.sleep(0.05)
        cpu = meter.stop()
        bench.stop_profiler(profiler)
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        states = await seed.count_by_state(context, "alert_jobs")
    rss, pss = node.peak_rss_mb(), node.peak_pss_mb()
    last = max([*sink.push_times.values(), *sink.mail_times.values(), committed])
    total = last - committed
    push_last = max(sink.push_times.values(), default=committed) - committed
    mail_last = max(sink.mail_times.values(), default=committed) - committed
    arrivals = sorted([committed, *sink.push_times.values(), *sink.mail_times.values()])
    gaps = sorted(((b - a, n) for n, (a, b) in enumerate(itertools.pairwise(arrivals))),
                  reverse=True)[:3]
    bench.add(Row("alerts: commit → last of 1,000 push + 1,000 e-mail", total, "s", None,
                  higher_is_better=False, rss_mb=rss, pss_mb=pss, target=10.0,
                  note=f"last push at {push_last:.2f} s, last e-mail at {mail_last:.2f} s; "
                       f"queueing 2,000 jobs with the callout {committed - began:.2f} s; "
                       "longest pauses between two alerts received: " + ", ".join(
                           f"{gap:.2f} s before the {n + 1}th" for gap, n in gaps)))
    bench.add(Row("alerts: alerts/s", (PUSH + MAIL) / total if total > 0 else None, "/s",
                  rss_mb=rss, pss_mb=pss))
    bench.add(Row("alerts: node memory, peak PSS", pss, "MB", None, higher_is_better=False,
                  rss_mb=rss, pss_mb=pss, target=250))
    ok = (
        len(sink.push_times) == PUSH and len(sink.mail_times) == MAIL
        and sink.push_repeats == 0 and sink.mail_repeats == 0
        and not sink.problems and sink.checked == PUSH // SAMPLE_EVERY
        and states.get("done", 0) == PUSH + MAIL
    )
    bench.note(
        ("OK " if ok else "PROBLEM ")
        + f"alerts check: {len(sink.push_times)} push, {len(sink.mail_times)} e-mail received; "
        f"repeats {sink.push_repeats} push, {sink.mail_repeats} e-mail; {sink.checked} push "
        f"messages verified and decrypted; jobs {states}; problems {sink.problems[:3]}"
    )
    bench.checks.append(ok)
    bench.cpu_note("alerts (commit → last received)", cpu, PUSH + MAIL, "alert")
