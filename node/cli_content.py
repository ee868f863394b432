"""``tocsin event …``, ``tocsin callout …``, ``calendar``, ``callouts``, ``share``, ``unshare``.

Each change is written with its federation activity in one transaction; the
running node's worker delivers it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from federation.errors import FederationError
from node.config import Settings
from node.content import callouts as co
from node.content import events as ev
from node.content.calendar import Entry, open_callouts, origins, upcoming_events
from node.content.lookup import NotFound, find_local
from node.content.models import Callout, Event
from node.content.shares import ShareError, share, unshare
from node.content.validation import ContentError
from node.context import NodeContext
from node.runtime import node_context

Action = Callable[[argparse.Namespace, NodeContext], Awaitable[str]]


def _place_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--location", help="place name")
    parser.add_argument("--address", help="street address")
    parser.add_argument("--latitude")
    parser.add_argument("--longitude")
    parser.add_argument("--online-url", dest="online_url", help="link for online participation")
    parser.add_argument(
        "--timezone", help="IANA zone of the times given (default: TOCSIN_TIMEZONE)"
    )


def _event_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title")
    parser.add_argument("--start", help="e.g. '2026-12-03 19:00' (a date with --all-day)")
    parser.add_argument("--end", help="e.g. '2026-12-03 21:00'")
    parser.add_argument("--all-day", dest="all_day", action="store_true", default=None)
    parser.add_argument("--tag", dest="tags", action="append", help="repeat for several tags")
    parser.add_argument("--description", help="Markdown")
    _place_flags(parser)


def _callout_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title")
    parser.add_argument("--needed", help="what is needed, in a sentence or two")
    parser.add_argument("--people", help="how many people are needed")
    parser.add_argument("--start", help="from when (default: now)")
    parser.add_argument("--until", help="until when, e.g. '2026-12-03 09:00'")
    parser.add_argument("--urgency", choices=["urgent", "soon", "ongoing"])
    parser.add_argument("--contact", help="how to reach the organisers")
    _place_flags(parser)


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    event = sub.add_parser("event", help="publish and manage this network's events")
    verbs = event.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    _event_flags(verbs.add_parser("create", help="publish a new event"))
    update = verbs.add_parser("update", help="change an event (only the flags given)")
    update.add_argument("id", help="the id or URL create printed")
    _event_flags(update)
    for verb, text in [("cancel", "mark cancelled (followers are told)"), ("delete", "delete")]:
        verbs.add_parser(verb, help=text).add_argument("id")
    verbs.add_parser("list", help="this node's upcoming events")

    callout = sub.add_parser("callout", help="publish and manage callouts (urgent calls)")
    verbs = callout.add_subparsers(dest="callout_command", required=True, metavar="ACTION")
    _callout_flags(verbs.add_parser("create", help="publish a new callout"))
    update = verbs.add_parser("update", help="change a callout (only the flags given)")
    update.add_argument("id")
    _callout_flags(update)
    for verb, text in [
        ("close", "mark met: enough people came"),
        ("cancel", "call it off"),
        ("delete", "delete"),
        ("responses", "who answered (for the organisers only)"),
    ]:
        verbs.add_parser(verb, help=text).add_argument("id")
    verbs.add_parser("list", help="this node's open callouts")

    calendar = sub.add_parser("calendar", help="upcoming events of this node and those it follows")
    calendar.add_argument("--tag")
    sub.add_parser("callouts", help="open callouts across the federation")
    sub.add_parser("share", help="announce a remote event or callout to followers").add_argument(
        "url"
    )
    sub.add_parser("unshare", help="take a share back (Undo)").add_argument("url")


def _form(cls: type[Any], args: argparse.Namespace) -> Any:
    return cls(**{name: getattr(args, name, None) for name in cls.__dataclass_fields__})


def _when(item: Event | Callout) -> str:
    local = item.starts_at.astimezone(ZoneInfo(item.timezone))
    return f"{local:%Y-%m-%d %H:%M} {item.timezone}"


def _event_line(entry: Entry) -> str:
    event = entry.item
    state = "  [CANCELLED]" if event.status == "cancelled" else ""
    via = f" via {entry.relayed_by.handle}" if entry.relayed_by else ""
    return f"{_when(event)}  {event.title}{state}  ({entry.origin.handle}{via})  {event.url}"


def _callout_line(entry: Entry) -> str:
    callout = entry.item
    assert isinstance(callout, Callout)
    until = callout.ends_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{callout.urgency.upper():<8} until {until}  {callout.title}  "
        f"[{callout.come_count} coming, {callout.help_count} helping]  "
        f"({entry.origin.handle})  {callout.url}"
    )


async def _event_action(args: argparse.Namespace, node: NodeContext) -> str:
    verb = args.event_command
    async with node.sessions() as session, session.begin():
        if verb == "create":
            event = await ev.create_event(node, session, _form(ev.EventForm, args))
            return event.url
        if verb == "list":
            items = await upcoming_events(session, datetime.now(UTC), local_only=True)
            entries = await origins(session, list(items), node.settings.host)
            return "\n".join(map(_event_line, entries)) or "(no upcoming events)"
        event = await find_local(session, Event, args.id)
        if verb == "update":
            await ev.update_event(node, session, event, _form(ev.EventForm, args))
        elif verb == "cancel":
            await ev.cancel_event(node, session, event)
        else:
            await ev.delete_event(node, session, event)
            return f"Deleted {event.uri}"
        return event.url


async def _callout_action(args: argparse.Namespace, node: NodeContext) -> str:
    verb = args.callout_command
    async with node.sessions() as session, session.begin():
        if verb == "create":
            callout = await co.create_callout(node, session, _form(co.CalloutForm, args))
            return callout.url
        if verb == "list":
            items = await open_callouts(session, datetime.now(UTC), local_only=True)
            entries = await origins(session, list(items), node.settings.host)
            return "\n".join(map(_callout_line, entries)) or "(no open callouts)"
        callout = await find_local(session, Callout, args.id)
        if verb == "update":
            await co.update_callout(node, session, callout, _form(co.CalloutForm, args))
        elif verb in ("close", "cancel"):
            await co.set_status(node, session, callout, "met" if verb == "close" else "cancelled")
        elif verb == "responses":
            rows = await co.responses(session, callout)
            lines = [f"{r.option:<5} {r.actor_uri}" for r in rows]
            return "\n".join(lines) or "(no responses yet)"
        else:
            await co.delete_callout(node, session, callout)
            return f"Deleted {callout.uri}"
        return callout.url


async def _calendar(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session:
        items = await upcoming_events(session, datetime.now(UTC), tag=args.tag)
        entries = await origins(session, list(items), node.settings.host)
    return "\n".join(map(_event_line, entries)) or "(no upcoming events)"


async def _callouts(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session:
        items = await open_callouts(session, datetime.now(UTC))
        entries = await origins(session, list(items), node.settings.host)
    return "\n".join(map(_callout_line, entries)) or "(no open callouts)"


async def _share(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session, session.begin():
        if args.command == "share":
            await share(node, session, args.url)
            return f"Shared {args.url} with this node's followers."
        await unshare(node, session, args.url)
        return f"Stopped sharing {args.url}."


def _runner(action: Action) -> Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]:
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        async with node_context(settings) as node:
            try:
                output = await action(args, node)
            except (ContentError, NotFound, ShareError, ValueError) as exc:
                print(f"tocsin: {exc}", file=sys.stderr)
                return 2
            except FederationError as exc:
                print(f"tocsin: {exc.public_message}", file=sys.stderr)
                return 2
        print(output)
        return 0

    return run


COMMANDS = {
    **{
        f"event {verb}": _runner(_event_action)
        for verb in ("create", "update", "cancel", "delete", "list")
    },
    **{
        f"callout {verb}": _runner(_callout_action)
        for verb in ("create", "update", "close", "cancel", "delete", "list", "responses")
    },
    "calendar": _runner(_calendar),
    "callouts": _runner(_callouts),
    "share": _runner(_share),
    "unshare": _runner(_share),
}
