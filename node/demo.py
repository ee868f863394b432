"""``make demo``: three networks on this machine that follow each other.

``python -m node.demo`` starts three ``tocsin run`` processes (haringey, leeds and
glasgow on 127.0.0.1:8001-8003, each with its own data directory under
``./demo-data/``, plain http, private addresses allowed), makes them follow each
other, publishes a few events and an urgent callout on each, waits (bounded) until
every calendar shows the others' events, and prints each node's URL and admin login.
Ctrl-C (or SIGTERM) stops all three. The data stays for the next ``make demo``;
``--reset`` (or ``make demo-reset``) starts afresh.

The content goes in the way ``tocsin follow``, ``tocsin event create`` and
``tocsin callout create`` put it (``node.cli_federation``, ``node.cli_content``):
through the domain services, on each node's database, while the node runs; each
node's worker then delivers it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node import i18n
from node.cli_language import command_language
from node.config import Settings, load_settings
from node.db import make_engine, make_sessionmaker
from node.i18n import gettext as _

NETWORKS = (
    ("haringey", "Haringey Renters"),
    ("leeds", "Leeds Tenants' Union"),
    ("glasgow", "Glasgow Housing Action"),
)
DEFAULT_PORTS = (8001, 8002, 8003)
LONDON = ZoneInfo("Europe/London")
EVENTS = ("Tenants' assembly", "Know your rights workshop", "Community fridge social")
START_TIMEOUT = 60.0  # for the three nodes to answer HTTP
FILL_TIMEOUT = 60.0  # for the follows to be accepted, then for the calendars to fill
STOP_TIMEOUT = 15.0  # for a node to stop after SIGTERM, before it is killed
SEEDED = ".seeded"  # in the demo folder, once the follows and content are in
LOGINS = "logins.txt"  # in the demo folder: the first admins' one-time passwords


class DemoError(Exception):
    """The demo cannot go on; the message says why."""


@dataclass(frozen=True)
class DemoNode:
    name: str
    title: str
    port: int
    data_dir: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def handle(self) -> str:
        return f"@{self.name}@127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / "tocsin.log"

    def env(self) -> dict[str, str]:
        return {
            "TOCSIN_NODE_NAME": self.name,
            "TOCSIN_DATA_DIR": str(self.data_dir),
            "TOCSIN_LISTEN": f"127.0.0.1:{self.port}",
            "TOCSIN_BASE_URL": self.base_url,
            "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
            "TOCSIN_TIMEZONE": "Europe/London",
        }

    def settings(self) -> Settings:
        return load_settings(self.env())


def demo_nodes(folder: Path, ports: Sequence[int]) -> list[DemoNode]:
    return [
        DemoNode(name, title, port, (folder / name).resolve())
        for (name, title), port in zip(NETWORKS, ports, strict=True)
    ]


# -- the processes --------------------------------------------------------------------


def start(node: DemoNode) -> subprocess.Popen[bytes]:
    """``tocsin run`` for ``node``, its output in its log, out of the terminal's
    process group: Ctrl-C reaches the demo, which stops the nodes in order."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    with node.log.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "node.cli", "run"],
            env={**env, **node.env()},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return lines[-1] if lines else "(no output)"


def check_running(nodes: Sequence[DemoNode], processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for node, process in zip(nodes, processes, strict=True):
        if process.poll() is not None:
            said = {"name": node.name, "line": last_line(node.log), "log": node.log}
            raise DemoError(_("%(name)s stopped: %(line)s (see %(log)s)", **said))


def wait_answering(nodes: Sequence[DemoNode], processes: Sequence[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(nodes)
    while waiting:
        check_running(nodes, processes)
        if time.monotonic() > deadline:
            names = ", ".join(node.name for node in waiting)
            seconds = f"{START_TIMEOUT:.0f}"
            raise DemoError(
                _("%(names)s did not answer within %(seconds)s s", names=names, seconds=seconds)
            )
        try:
            httpx.get(f"{waiting[0].base_url}/.well-known/nodeinfo", timeout=5)
            waiting.pop(0)
        except httpx.TransportError:
            time.sleep(0.2)


# -- the content ----------------------------------------------------------------------


async def prepare_node(node: DemoNode) -> str | None:
    """Migrate a new node, name its network, make its first admin (the password)."""
    from node.bootstrap import create_first_admin, prepare
    from node.identity import group_actor

    settings = node.settings()
    await prepare(settings, first_admin=False)
    async with database(settings) as sessions, sessions() as session, session.begin():
        network = await group_actor(session)
        if network.display_name == node.name:
            network.display_name = node.title
            network.summary = f"<p>{node.title}: a demo network on this machine.</p>"
    return await create_first_admin(settings)


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def follow_each_other(nodes: Sequence[DemoNode]) -> None:
    from node.follows import FollowError, follow, resolve_target
    from node.runtime import node_context

    for node in nodes:
        async with node_context(node.settings()) as context:
            for other in nodes:
                if other is node:
                    continue
                remote = await resolve_target(context, other.handle)
                with contextlib.suppress(FollowError):  # already following
                    async with context.sessions() as session, session.begin():
                        await follow(context, session, remote)


async def publish_samples(nodes: Sequence[DemoNode]) -> None:
    from node.content.callouts import CalloutForm, create_callout
    from node.content.events import EventForm, create_event
    from node.runtime import node_context

    today = datetime.now(UTC).date()
    for index, node in enumerate(nodes):
        async with node_context(node.settings()) as context:
            async with context.sessions() as session, session.begin():
                for days, title in enumerate(EVENTS, start=2 + index):
                    day = (today + timedelta(days=days * 3)).isoformat()
                    form = EventForm(
                        title=f"{title}: {node.name.title()}",
                        start=f"{day} 19:00",
                        end=f"{day} 21:00",
                        location=f"{node.name.title()} community centre",
                        tags=["housing", node.name],
                        description=f"A sample event of {node.title}, made by `make demo`.",
                    )
                    await create_event(context, session, form)
            async with context.sessions() as session, session.begin():
                until = (datetime.now(UTC) + timedelta(days=1)).astimezone(LONDON)
                callout = CalloutForm(
                    title=f"Eviction resistance at 7am: {node.name.title()}",
                    needed="People at the door from 6:30 to stop the bailiffs.",
                    people="20",
                    until=until.strftime("%Y-%m-%d %H:%M"),
                    timezone="Europe/London",
                    urgency="urgent",
                    location=f"12 Elm Road, {node.name.title()}",
                    contact="Reply to this callout",
                )
                await create_callout(context, session, callout)


async def count_on(node: DemoNode, query: Select[int]) -> int:
    async with database(node.settings()) as sessions, sessions() as session:
        return int(await session.scalar(query) or 0)


async def follows_accepted(nodes: Sequence[DemoNode]) -> bool:
    from node.models import Following

    accepted = select(func.count(Following.id)).where(Following.state == "accepted")
    for node in nodes:
        if await count_on(node, accepted) < len(nodes) - 1:
            return False
    return True


async def calendars_filled(nodes: Sequence[DemoNode]) -> bool:
    """Each node has the others' events and callouts."""
    from node.content.models import Callout, Event

    events = select(func.count(Event.id)).where(Event.local.is_(False))
    callouts = select(func.count(Callout.id)).where(Callout.local.is_(False))
    for node in nodes:
        if await count_on(node, events) < len(EVENTS) * (len(nodes) - 1):
            return False
        if await count_on(node, callouts) < len(nodes) - 1:
            return False
    return True


async def wait_for(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + FILL_TIMEOUT
    while not await check():
        if time.monotonic() > deadline:
            seconds = f"{FILL_TIMEOUT:.0f}"
            raise DemoError(
                _("%(what)s did not happen within %(seconds)s s", what=what, seconds=seconds)
            )
        await asyncio.sleep(0.5)


async def seed(nodes: Sequence[DemoNode]) -> None:
    """Follows first (a node sends its followers only what it publishes later),
    then the events and callouts, then wait until every calendar has them."""
    await follow_each_other(nodes)
    await wait_for(lambda: follows_accepted(nodes), _("the follows between the nodes"))
    await publish_samples(nodes)
    await wait_for(lambda: calendars_filled(nodes), _("the delivery of the sample events"))


# -- the command ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m node.demo",
        description=_("Three local Tocsin nodes that follow each other."),
    )
    parser.add_argument("--dir", type=Path, default=Path("demo-data"), help=_("default: demo-data"))
    parser.add_argument(
        "--ports",
        default=",".join(map(str, DEFAULT_PORTS)),
        help=_("three ports on 127.0.0.1 (default: 8001,8002,8003)"),
    )
    parser.add_argument("--reset", action="store_true", help=_("remove the demo's data first"))
    args = parser.parse_args(argv)
    ports = args.ports.split(",")
    if len(ports) != len(NETWORKS) or not all(p.isdigit() and 0 < int(p) < 65536 for p in ports):
        wanted = _("--ports takes %(count)s ports, such as 8001,8002,8003", count=len(NETWORKS))
        parser.error(wanted)
    args.ports = [int(p) for p in ports]
    return args


def read_logins(folder: Path) -> dict[str, str]:
    path = folder / LOGINS
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split(" ", 1) for line in lines if " " in line)


def save_logins(folder: Path, logins: dict[str, str]) -> None:
    path = folder / LOGINS
    path.write_text("".join(f"{name} {password}\n" for name, password in logins.items()))
    path.chmod(0o600)


async def prepare_all(folder: Path, nodes: Sequence[DemoNode]) -> dict[str, str]:
    logins = read_logins(folder)
    for node in nodes:
        node.data_dir.mkdir(parents=True, exist_ok=True)
        password = await prepare_node(node)
        if password:
            logins[node.name] = password
    save_logins(folder, logins)
    return logins


def announce(nodes: Sequence[DemoNode], logins: dict[str, str], folder: Path) -> None:
    print("\n" + _("Three Tocsin networks are running on this machine, following each other:"))
    for node in nodes:
        password = logins.get(node.name, _("(the one you chose)"))
        print(f"  {node.title:<24} {node.base_url}/   admin / {password}")
    print(
        _(
            "Each calendar (/calendar) shows the others' events, and /callouts their urgent\n"
            "callouts. Log in at /admin/login (the password shown is for the first login; you\n"
            "choose your own then). Logs: %(folder)s/NAME/tocsin.log.\n"
            "Ctrl-C stops all three; `make demo` again resumes, `make demo-reset` starts afresh.",
            folder=folder,
        ),
        flush=True,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> None:
    folder: Path = args.dir
    if args.reset:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    nodes = demo_nodes(folder, args.ports)
    print(_("Preparing the demo networks…"), flush=True)
    logins = asyncio.run(prepare_all(folder, nodes))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.extend(start(node) for node in nodes)
        wait_answering(nodes, processes)
        if not (folder / SEEDED).exists():
            print(_("Following each other and publishing sample events…"), flush=True)
            asyncio.run(seed(nodes))
            (folder / SEEDED).touch()
        announce(nodes, logins, folder)
        while True:
            check_running(nodes, processes)
            time.sleep(0.5)
    finally:
        print("\n" + _("Stopping the demo networks…"), flush=True)
        stop(processes)


def main(argv: Sequence[str] | None = None) -> int:
    with i18n.speaking(command_language(os.environ)):  # TOCSIN_LANGUAGE, else the locale
        args = parse_args(argv)
        for signum in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background job ignores it
            signal.signal(signum, _interrupt)
        try:
            run(args)
        except DemoError as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(_("Stopped."), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
