"""Shared pieces of the admin pages for events and callouts: form values,
errors beside fields, the change-and-audit transaction, confirmation pages."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.audit import audit
from node.content.lookup import NotFound, find_local
from node.content.models import Callout, Event
from node.content.text import format_moment, format_when, format_where, is_iana_zone
from node.content.validation import ContentError
from node.context import NodeContext
from node.web.admin.session import render
from node.web.context import ctx

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
