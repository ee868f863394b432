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
from node.content.callout_states import apply_action
from node.content.callout_text import state_words
from node.content.lookup import NotFound, find_local
from node.content.models import Callout, Event
from node.content.responders import ResponderReport, remove_responder, responder_report
from node.content.shares import ShareError, share, unshare
from node.content.validation import ContentError
from node.context import NodeContext
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.runtime import node_context

Action = Callable[[argparse.Namespace, NodeContext], Awaitable[str]]


def _place_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--location", help=_("place name"))
    parser.add_argument("--address", help=_("street address"))
    parser.add_argument("--latitude")
    parser.add_argument("--longitude")
    parser.add_argument("--online-url", dest="online_url", help=_("link for online participation"))
    parser.add_argument(
        "--timezone", help=_("IANA zone of the times given (default: TOCSIN_TIMEZONE)")
    )


def _event_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title")
    parser.add_argument("--start", help=_("e.g. '2026-12-03 19:00' (a date with --all-day)"))
    parser.add_argument("--end", help=_("e.g. '2026-12-03 21:00'"))
    parser.add_argument("--all-day", dest="all_day", action="store_true", default=None)
    parser.add_argument("--tag", dest="tags", action="append", help=_("repeat for several tags"))
    parser.add_argument("--description", help=_("Markdown"))
    _place_flags(parser)


def _callout_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--title")
    parser.add_argument("--needed", help=_("what is needed, in a sentence or two"))
    parser.add_argument("--people", help=_("how many people are needed"))
    parser.add_argument(
        "--start", "--at", dest="start", help=_("people needed from (default: now)")
    )
    parser.add_argument("--until", help=_("until when, e.g. '2026-12-03 09:00'"))
    parser.add_argument("--urgency", choices=["urgent", "soon", "ongoing"])
    parser.add_argument("--contact", help=_("how to reach the organisers"))
    parser.add_argument("--area", help=_("the public part of where, e.g. 'Tottenham, N15'"))
    parser.add_argument(
        "--private-address",
        dest="private_address",
        help=_("the exact address: sent only to confirmed responders, never published"),
    )
    _place_flags(parser)


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    event = sub.add_parser("event", help=_("publish and manage this network's events"))
    verbs = event.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    _event_flags(verbs.add_parser("create", help=_("publish a new event")))
    update = verbs.add_parser("update", help=_("change an event (only the flags given)"))
    update.add_argument("id", help=_("the id or URL create printed"))
    _event_flags(update)
    for verb, text in [
        ("cancel", _("mark cancelled (followers are told)")),
        ("delete", _("delete")),
    ]:
        verbs.add_parser(verb, help=text).add_argument("id")
    verbs.add_parser("list", help=_("this node's upcoming events"))

    callout = sub.add_parser("callout", help=_("publish and manage callouts (urgent calls)"))
    verbs = callout.add_subparsers(dest="callout_command", required=True, metavar="ACTION")
    create = verbs.add_parser("create", help=_("publish a new callout"))
    _callout_flags(create)
    create.add_argument(
        "--unverified", action="store_true", help=_("publish as being checked; go with confirm")
    )
    update = verbs.add_parser("update", help=_("change a callout (only the flags given)"))
    update.add_argument("id")
    _callout_flags(update)
    for verb, words in CALLOUT_VERBS.items():
        verbs.add_parser(verb, help=str(words)).add_argument("id")
    remove = verbs.add_parser("remove-responder", help=_("take a responder off; standby moves up"))
    remove.add_argument("id")
    remove.add_argument("actor", help=_("the responder's actor URL, as `responses` shows it"))
    verbs.add_parser("list", help=_("this node's open callouts"))

    calendar = sub.add_parser(
        "calendar", help=_("upcoming events of this node and those it follows")
    )
    calendar.add_argument("--tag")
    sub.add_parser("callouts", help=_("open callouts across the federation"))
    sub.add_parser("share", help=_("announce a remote event or callout to followers")).add_argument(
        "url"
    )
    sub.add_parser("unshare", help=_("take a share back (Undo)")).add_argument("url")


CALLOUT_VERBS = {
    "confirm": lazy_gettext("the report is checked: go (confirmed responders get the address)"),
    "enough": lazy_gettext("enough people: the rest stand down"),
    "reopen": lazy_gettext("more people needed again (or undo a close within 10 minutes)"),
    "close": lazy_gettext("all clear: it is over (met)"),
    "false-alarm": lazy_gettext("the report was wrong: do not go"),
    "cancel": lazy_gettext("call it off"),
    "delete": lazy_gettext("delete"),
    "responses": lazy_gettext("who answered (for the organisers only)"),
}
STATE_ACTIONS = {"confirm", "enough", "reopen", "close", "false-alarm", "cancel"}


def _form(cls: type[Any], args: argparse.Namespace) -> Any:
    return cls(**{name: getattr(args, name, None) for name in cls.__dataclass_fields__})


def _when(item: Event | Callout) -> str:
    local = item.starts_at.astimezone(ZoneInfo(item.timezone))
    return f"{local:%Y-%m-%d %H:%M} {item.timezone}"


def _event_line(entry: Entry) -> str:
    event = entry.item
    state = "  " + _("[CANCELLED]") if event.status == "cancelled" else ""
    via = " " + _("via %(handle)s", handle=entry.relayed_by.handle) if entry.relayed_by else ""
    return f"{_when(event)}  {event.title}{state}  ({entry.origin.handle}{via})  {event.url}"


def _callout_line(entry: Entry) -> str:
    callout = entry.item
    assert isinstance(callout, Callout)
    until = callout.ends_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    confirmed = ""
    if callout.people_needed is not None:
        confirmed = _(
            "%(confirmed)s of %(needed)s confirmed, ",
            confirmed=callout.confirmed_count,
            needed=callout.people_needed,
        )
    counts = _(
        "%(come)s coming, %(help)s helping", come=callout.come_count, help=callout.help_count
    )
    return (
        f"{callout.urgency.upper():<8} {state_words(callout.status)}  "
        + _("until %(moment)s", moment=until)
        + f"  {callout.title}  [{confirmed}{counts}]  ({entry.origin.handle})  {callout.url}"
    )


def _responses_text(report: ResponderReport) -> str:
    lines = []
    for r in report.responders:
        answered = r.answered_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        told = "  " + _("messaged: %(kinds)s", kinds=", ".join(r.messaged)) if r.messaged else ""
        if r.via_alert:  # answered from an alert's link: what they chose to give
            given = ", ".join(part for part in (r.name, r.reach) if part)
            channel = r.channel or _("a subscription since removed")
            if given:
                told += "  " + _("(alert by %(channel)s: %(given)s)", channel=channel, given=given)
            else:
                told += "  " + _("(alert by %(channel)s)", channel=channel)
        lines.append(f"{r.label:<9} {answered}  {r.actor_uri}{told}")
    if not lines:
        return _("(no responses yet)")
    servers = ", ".join(f"{domain} {n}" for domain, n in report.per_server)
    return "\n".join([*lines, _("per server: %(servers)s", servers=servers)])


async def _event_action(args: argparse.Namespace, node: NodeContext) -> str:
    verb = args.event_command
    async with node.sessions() as session, session.begin():
        if verb == "create":
            event = await ev.create_event(node, session, _form(ev.EventForm, args))
            return event.url
        if verb == "list":
            items = await upcoming_events(session, datetime.now(UTC), local_only=True)
            entries = await origins(session, list(items), node.settings.host)
            return "\n".join(map(_event_line, entries)) or _("(no upcoming events)")
        event = await find_local(session, Event, args.id)
        if verb == "update":
            await ev.update_event(node, session, event, _form(ev.EventForm, args))
        elif verb == "cancel":
            await ev.cancel_event(node, session, event)
        else:
            await ev.delete_event(node, session, event)
            return _("Deleted %(uri)s", uri=event.uri)
        return event.url


async def _callout_action(args: argparse.Namespace, node: NodeContext) -> str:
    verb = args.callout_command
    async with node.sessions() as session, session.begin():
        if verb == "create":
            form = _form(co.CalloutForm, args)
            callout = await co.create_callout(node, session, form, unverified=args.unverified)
            return callout.url
        if verb == "list":
            items = await open_callouts(session, datetime.now(UTC), local_only=True)
            entries = await origins(session, list(items), node.settings.host)
            return "\n".join(map(_callout_line, entries)) or _("(no open callouts)")
        callout = await find_local(session, Callout, args.id)
        if verb == "update":
            await co.update_callout(node, session, callout, _form(co.CalloutForm, args))
        elif verb in STATE_ACTIONS:
            await apply_action(node, session, callout, verb, now=datetime.now(UTC))
            return f"{state_words(callout.status)}: {callout.url}"
        elif verb == "remove-responder":
            await remove_responder(node, session, callout, args.actor)
        elif verb == "responses":
            return _responses_text(await responder_report(session, callout))
        else:
            await co.delete_callout(node, session, callout)
            return _("Deleted %(uri)s", uri=callout.uri)
        return callout.url


async def _calendar(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session:
        items = await upcoming_events(session, datetime.now(UTC), tag=args.tag)
        entries = await origins(session, list(items), node.settings.host)
    return "\n".join(map(_event_line, entries)) or _("(no upcoming events)")


async def _callouts(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session:
        items = await open_callouts(session, datetime.now(UTC), include_ended=True)
        entries = await origins(session, list(items), node.settings.host)
    return "\n".join(map(_callout_line, entries)) or _("(no open callouts)")


async def _share(args: argparse.Namespace, node: NodeContext) -> str:
    async with node.sessions() as session, session.begin():
        if args.command == "share":
            await share(node, session, args.url)
            return _("Shared %(url)s with this node's followers.", url=args.url)
        await unshare(node, session, args.url)
        return _("Stopped sharing %(url)s.", url=args.url)


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
        for verb in ("create", "update", "list", "remove-responder", *CALLOUT_VERBS)
    },
    "calendar": _runner(_calendar),
    "callouts": _runner(_callouts),
    "share": _runner(_share),
    "unshare": _runner(_share),
}
