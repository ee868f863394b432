"""Admin pages for the network's events and callouts: list, create, edit, cancel
or close, delete, and who answered a callout.

Every change goes through the content services (which validate it and queue its
federation activity) and is audited, in one transaction: a form that does not
validate is shown again with the message beside the field, and nothing is saved.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.audit import audit
from node.content import callouts as co
from node.content import events as ev
from node.content.calendar import open_callouts, upcoming_events
from node.content.lookup import NotFound, find_local
from node.content.models import Callout, Event
from node.content.text import format_moment, format_when, format_where, is_iana_zone
from node.content.validation import ContentError
from node.models import RemoteActor
from node.web.admin.session import render, require
from node.web.context import NodeContext, ctx

T = TypeVar("T", Event, Callout)
Change = Callable[[NodeContext, AsyncSession, T], Awaitable[object]]

PAST_SHOWN = 50
ZONES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels",
    "Europe/Amsterdam", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Vienna",
    "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Helsinki", "Europe/Kyiv",
    "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Toronto", "America/Mexico_City", "America/Bogota", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo",
    "Asia/Singapore", "Australia/Sydney", "Pacific/Auckland",
)  # fmt: skip
LABELS = {
    "title": "Title",
    "start": "Start",
    "end": "End",
    "until": "Until",
    "timezone": "Time zone",
    "location": "Place",
    "address": "Address",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "online_url": "Online link",
    "tags": "Tags",
    "description": "Description",
    "needed": "What is needed",
    "people": "How many people",
    "urgency": "Urgency",
    "contact": "Contact",
}
EVENT_FIELDS = ("title", "start", "end", "timezone", "location", "address", "latitude")
EVENT_FIELDS += ("longitude", "online_url", "tags", "description")
CALLOUT_FIELDS = ("title", "needed", "people", "start", "until", "timezone", "urgency")
CALLOUT_FIELDS += ("contact", "location", "address", "latitude", "longitude", "online_url")
NOTICES = {
    "created": "{} published; followers are being told.",
    "updated": "{} updated; followers are being told.",
    "cancelled": "{} cancelled; followers are being told.",
    "closed": "{} closed as met; followers are being told.",
    "deleted": "{} deleted; followers are being told.",
}


@cache
def zones(default: str) -> list[str]:
    """Suggestions for the time-zone input: the node's own zone first."""
    return [z for z in dict.fromkeys((default, *ZONES)) if is_iana_zone(z)]


def _noun(model: type[Event] | type[Callout]) -> str:
    return "event" if model is Event else "callout"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _input_time(value: str | None) -> str:
    """A stored form time (``2026-12-03 19:00`` or a date) as a datetime-local value."""
    value = value or ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"{value}T00:00"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", value):
        return value.replace(" ", "T")
    return value


def _problem(exc: ContentError) -> dict[str, str]:
    """The error for the field it names, phrased as a sentence."""
    message = exc.message
    if message.startswith(("is ", "must ")):
        message = f"{LABELS.get(exc.field, exc.field.capitalize())} {message}"
    message = message[:1].upper() + message[1:]
    return {exc.field: message if message.endswith(".") else message + "."}


def _safe_link(url: str | None) -> str | None:
    """A remote address fit for an ``href``: plain web links only."""
    return url if url and url.startswith(("https://", "http://")) else None


def _target(item: Event | Callout) -> str:
    return f'{item.uri} "{item.title}"'


def _missing(request: Request, model: type[Event] | type[Callout]) -> Response:
    noun = _noun(model)
    context = {"noun": noun, "back": f"/admin/{noun}s"}
    return render(request, "admin/missing.html", context, status=404)


def _done(noun: str, code: str, item_id: int | None = None) -> Response:
    anchor = f"#{noun}-{item_id}" if item_id is not None else ""
    return RedirectResponse(f"/admin/{noun}s?done={code}{anchor}", status_code=303)


def _notice(request: Request, noun: str) -> str | None:
    template = NOTICES.get(request.query_params.get("done", ""))
    return template.format(noun.capitalize()) if template else None


async def _find(session: AsyncSession, model: type[T], request: Request) -> T | None:
    ref = str(request.path_params["id"])
    if not ref.isdigit() or len(ref) > 18:
        return None
    try:
        return await find_local(session, model, ref)
    except NotFound:
        return None


async def _load(request: Request, model: type[T]) -> T | None:
    async with ctx(request).sessions() as session:
        return await _find(session, model, request)


async def _act(
    request: Request,
    model: type[T],
    verb: str,
    change: Change[T],
    done: str,
    refused: Callable[[Request, str], Awaitable[Response]],
) -> Response:
    """Apply ``change`` to the item named in the path, audit it, commit, wake the worker."""
    node = ctx(request)
    noun = _noun(model)
    try:
        async with node.sessions() as session, session.begin():
            item = await _find(session, model, request)
            if item is None:
                return _missing(request, model)
            item_id, target = item.id, _target(item)
            await change(node, session, item)
            audit(session, request.state.user, f"{noun}.{verb}", target)
    except ContentError as exc:  # e.g. already cancelled: nothing was changed
        return await refused(request, exc.message[:1].upper() + exc.message[1:] + ".")
    node.wake()
    return _done(noun, done, None if done == "deleted" else item_id)


def _confirm(request: Request, item: Event | Callout, **context: str) -> Response:
    noun = "event" if isinstance(item, Event) else "callout"
    return render(
        request,
        "admin/confirm.html",
        {"item": item, "when": _when(item), "back": f"/admin/{noun}s", **context},
    )


def _when(item: Event | Callout) -> str:
    if isinstance(item, Event):
        return format_when(item.starts_at, item.ends_at, item.timezone, item.all_day)
    return "until " + format_moment(item.ends_at, item.timezone)


@dataclass(frozen=True)
class Row:
    item: Event | Callout
    when: str
    where: str
    state: str  # scheduled | cancelled | past | open | met | expired


def _row(item: Event | Callout, now: datetime) -> Row:
    where = format_where(item.location_name, item.location_address, item.online_url)
    state = item.status
    if state in ("scheduled", "open") and item.ends_at <= now:
        state = "past" if isinstance(item, Event) else "expired"
    return Row(item, _when(item), where, state)


# -- events ----------------------------------------------------------------------------


def _event_form(form: FormData) -> ev.EventForm:
    return ev.EventForm(**{n: _text(form, n) for n in EVENT_FIELDS}, all_day="all_day" in form)


def _event_values(form: ev.EventForm) -> dict[str, Any]:
    values: dict[str, Any] = {k: "" if v is None else v for k, v in asdict(form).items()}
    if isinstance(form.tags, list):
        values["tags"] = ", ".join(form.tags)
    values["start"], values["end"] = _input_time(form.start), _input_time(form.end)
    return values


def _event_page(
    request: Request,
    values: dict[str, Any],
    *,
    item_url: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "values": values,
        "errors": errors or {},
        "labels": LABELS,
        "action": request.url.path,
        "item_url": item_url,
        "zones": zones(ctx(request).settings.timezone),
    }
    return render(request, "admin/event_form.html", context, status=400 if errors else 200)


async def _events_page(request: Request, error: str | None = None) -> Response:
    now = datetime.now(UTC)
    async with ctx(request).sessions() as session:
        upcoming = await upcoming_events(session, now, local_only=True)
        past = await session.scalars(
            select(Event)
            .where(Event.local.is_(True), Event.ends_at < now)
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(PAST_SHOWN)
        )
        context = {
            "upcoming": [_row(e, now) for e in upcoming],
            "past": [_row(e, now) for e in past],
            "notice": _notice(request, "event"),
            "error": error,
        }
    return render(request, "admin/events.html", context, status=409 if error else 200)


@require("editor")
async def events(request: Request) -> Response:
    return await _events_page(request)


@require("editor")
async def event_new(request: Request) -> Response:
    if request.method == "GET":
        blank = ev.EventForm(timezone=ctx(request).settings.timezone)
        return _event_page(request, _event_values(blank))
    form, node = _event_form(request.state.form), ctx(request)
    try:
        async with node.sessions() as session, session.begin():
            event = await ev.create_event(node, session, form)
            audit(session, request.state.user, "event.create", _target(event))
    except ContentError as exc:
        return _event_page(request, _event_values(form), errors=_problem(exc))
    node.wake()
    return _done("event", "created", event.id)


@require("editor")
async def event_edit(request: Request) -> Response:
    node = ctx(request)
    if request.method == "GET":
        event = await _load(request, Event)
        if event is None:
            return _missing(request, Event)
        return _event_page(request, _event_values(ev.form_of(event)), item_url=event.url)
    form, url = _event_form(request.state.form), None
    try:
        async with node.sessions() as session, session.begin():
            event = await _find(session, Event, request)
            if event is None:
                return _missing(request, Event)
            url = event.url
            await ev.update_event(node, session, event, form)
            audit(session, request.state.user, "event.update", _target(event))
    except ContentError as exc:
        return _event_page(request, _event_values(form), item_url=url, errors=_problem(exc))
    node.wake()
    return _done("event", "updated", event.id)


@require("editor")
async def event_cancel(request: Request) -> Response:
    if request.method == "POST":
        return await _act(request, Event, "cancel", ev.cancel_event, "cancelled", _events_page)
    event = await _load(request, Event)
    if event is None:
        return _missing(request, Event)
    return _confirm(
        request,
        event,
        heading="Cancel this event?",
        explanation="It stays listed, marked cancelled, and followers are told.",
        button="Cancel the event",
    )


@require("editor")
async def event_delete(request: Request) -> Response:
    if request.method == "POST":
        return await _act(request, Event, "delete", ev.delete_event, "deleted", _events_page)
    event = await _load(request, Event)
    if event is None:
        return _missing(request, Event)
    return _confirm(
        request,
        event,
        heading="Delete this event?",
        explanation="It disappears from this site and followers are asked to remove it. "
        "This cannot be undone; to call an event off, cancel it instead.",
        button="Delete for good",
    )


# -- callouts --------------------------------------------------------------------------


def _callout_form(form: FormData) -> co.CalloutForm:
    return co.CalloutForm(**{name: _text(form, name) for name in CALLOUT_FIELDS})


def _callout_values(form: co.CalloutForm) -> dict[str, Any]:
    values: dict[str, Any] = {k: "" if v is None else v for k, v in asdict(form).items()}
    values["start"], values["until"] = _input_time(form.start), _input_time(form.until)
    return values


def _callout_page(
    request: Request,
    values: dict[str, Any],
    *,
    item_url: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    errors = errors or {}
    more = ("start", "timezone", "latitude", "longitude", "online_url")
    context = {
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "action": request.url.path,
        "item_url": item_url,
        "zones": zones(ctx(request).settings.timezone),
        "more_open": any(f in errors for f in more)
        or any(values.get(f) for f in ("latitude", "longitude", "online_url")),
    }
    return render(request, "admin/callout_form.html", context, status=400 if errors else 200)


async def _callouts_page(request: Request, error: str | None = None) -> Response:
    now = datetime.now(UTC)
    async with ctx(request).sessions() as session:
        current = await open_callouts(session, now, local_only=True)
        ended = await session.scalars(
            select(Callout)
            .where(Callout.local.is_(True), Callout.id.not_in([c.id for c in current]))
            .order_by(Callout.ends_at.desc(), Callout.id.desc())
            .limit(PAST_SHOWN)
        )
        context = {
            "current": [_row(c, now) for c in current],
            "ended": [_row(c, now) for c in ended],
            "notice": _notice(request, "callout"),
            "error": error,
        }
    return render(request, "admin/callouts.html", context, status=409 if error else 200)


@require("editor")
async def callouts(request: Request) -> Response:
    return await _callouts_page(request)


@require("editor")
async def callout_new(request: Request) -> Response:
    if request.method == "GET":
        blank = co.CalloutForm(urgency="soon", timezone=ctx(request).settings.timezone)
        return _callout_page(request, _callout_values(blank))
    form, node = _callout_form(request.state.form), ctx(request)
    try:
        async with node.sessions() as session, session.begin():
            callout = await co.create_callout(node, session, form)
            audit(session, request.state.user, "callout.create", _target(callout))
    except ContentError as exc:
        return _callout_page(request, _callout_values(form), errors=_problem(exc))
    node.wake()
    return _done("callout", "created", callout.id)


@require("editor")
async def callout_edit(request: Request) -> Response:
    node = ctx(request)
    if request.method == "GET":
        callout = await _load(request, Callout)
        if callout is None:
            return _missing(request, Callout)
        return _callout_page(request, _callout_values(co.form_of(callout)), item_url=callout.url)
    form, url = _callout_form(request.state.form), None
    try:
        async with node.sessions() as session, session.begin():
            callout = await _find(session, Callout, request)
            if callout is None:
                return _missing(request, Callout)
            url = callout.url
            await co.update_callout(node, session, callout, form)
            audit(session, request.state.user, "callout.update", _target(callout))
    except ContentError as exc:
        return _callout_page(request, _callout_values(form), item_url=url, errors=_problem(exc))
    node.wake()
    return _done("callout", "updated", callout.id)


async def _close(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    await co.set_status(node, session, callout, "met")


async def _call_off(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    await co.set_status(node, session, callout, "cancelled")


@require("editor")
async def callout_close(request: Request) -> Response:
    return await _act(request, Callout, "close", _close, "closed", _callouts_page)


@require("editor")
async def callout_cancel(request: Request) -> Response:
    if request.method == "POST":
        return await _act(request, Callout, "cancel", _call_off, "cancelled", _callouts_page)
    callout = await _load(request, Callout)
    if callout is None:
        return _missing(request, Callout)
    return _confirm(
        request,
        callout,
        heading="Call this callout off?",
        explanation="The poll closes, the callout is marked cancelled and followers are told. "
        "If enough people answered, close it as met instead.",
        button="Cancel the callout",
    )


@require("editor")
async def callout_delete(request: Request) -> Response:
    if request.method == "POST":
        return await _act(request, Callout, "delete", co.delete_callout, "deleted", _callouts_page)
    callout = await _load(request, Callout)
    if callout is None:
        return _missing(request, Callout)
    return _confirm(
        request,
        callout,
        heading="Delete this callout?",
        explanation="It disappears from this site with its responses, and followers are "
        "asked to remove it. This cannot be undone.",
        button="Delete for good",
    )


@require("editor")
async def callout_responses(request: Request) -> Response:
    async with ctx(request).sessions() as session:
        callout = await _find(session, Callout, request)
        if callout is None:
            return _missing(request, Callout)
        answers = await co.responses(session, callout)
        counts = await co.response_counts(session, callout)
        uris = {a.actor_uri for a in answers}
        actors = {
            actor.uri: actor
            for actor in await session.scalars(select(RemoteActor).where(RemoteActor.uri.in_(uris)))
        }
        context = {
            "callout": callout,
            "when": _when(callout),
            "answers": [
                (a, actors.get(a.actor_uri), format_moment(a.created_at, callout.timezone))
                for a in answers
            ],
            "href": _safe_link,
            "come": counts.get("come", 0),
            "help": counts.get("help", 0),
        }
    return render(request, "admin/callout_responses.html", context)


routes = [
    Route("/admin/events", events),
    Route("/admin/events/new", event_new, methods=["GET", "POST"]),
    Route("/admin/events/{id}/edit", event_edit, methods=["GET", "POST"]),
    Route("/admin/events/{id}/cancel", event_cancel, methods=["GET", "POST"]),
    Route("/admin/events/{id}/delete", event_delete, methods=["GET", "POST"]),
    Route("/admin/callouts", callouts),
    Route("/admin/callouts/new", callout_new, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/edit", callout_edit, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/close", callout_close, methods=["POST"]),
    Route("/admin/callouts/{id}/cancel", callout_cancel, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/delete", callout_delete, methods=["GET", "POST"]),
    Route("/admin/callouts/{id}/responses", callout_responses),
]
