"""Admin pages for the network's events: list, create, edit, cancel, delete.

The shared create / edit / cancel / delete flow is in ``object_pages.py``; this
module supplies what is particular to events and their routes.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content import events as ev
from node.content.calendar import upcoming_events
from node.content.models import Event
from node.web.admin.forms import EVENT_FIELDS, FormValues, field_text, input_time
from node.web.admin.listings import PAST_SHOWN, list_page, row
from node.web.admin.object_pages import (
    Action,
    Confirmation,
    Kind,
    confirm_then_act,
    edit_page,
    new_page,
)
from node.web.admin.session import require
from node.web.context import ctx


def _event_form(form: FormData) -> ev.EventForm:
    fields = {name: field_text(form, name) for name in EVENT_FIELDS}
    return ev.EventForm(**fields, all_day="all_day" in form)


def _blank_form(timezone: str) -> ev.EventForm:
    return ev.EventForm(timezone=timezone)


def _event_values(form: ev.EventForm) -> FormValues:
    values: FormValues = {k: "" if v is None else v for k, v in asdict(form).items()}
    if isinstance(form.tags, list):
        values["tags"] = ", ".join(form.tags)
    values["start"], values["end"] = input_time(form.start), input_time(form.end)
    return values


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
        rows = {"upcoming": [row(e, now) for e in upcoming], "past": [row(e, now) for e in past]}
    return list_page(request, "admin/events.html", "event", rows, error)


EVENTS = Kind(
    model=Event,
    form_template="admin/event_form.html",
    read_form=_event_form,
    blank_form=_blank_form,
    form_of=ev.form_of,
    values_of=_event_values,
    create=ev.create_event,
    update=ev.update_event,
    listing=_events_page,
)
CANCEL = Action(verb="cancel", change=ev.cancel_event, done="cancelled")
DELETE = Action(verb="delete", change=ev.delete_event, done="deleted")
ASK_CANCEL = Confirmation(
    heading="Cancel this event?",
    explanation="It stays listed, marked cancelled, and followers are told.",
    button="Cancel the event",
)
ASK_DELETE = Confirmation(
    heading="Delete this event?",
    explanation="It disappears from this site and followers are asked to remove it. "
    "This cannot be undone; to call an event off, cancel it instead.",
    button="Delete for good",
)


@require("editor")
async def events(request: Request) -> Response:
    return await _events_page(request)


@require("editor")
async def event_new(request: Request) -> Response:
    return await new_page(request, EVENTS)


@require("editor")
async def event_edit(request: Request) -> Response:
    return await edit_page(request, EVENTS)


@require("editor")
async def event_cancel(request: Request) -> Response:
    return await confirm_then_act(request, EVENTS, CANCEL, ASK_CANCEL)


@require("editor")
async def event_delete(request: Request) -> Response:
    return await confirm_then_act(request, EVENTS, DELETE, ASK_DELETE)


routes = [
    Route("/admin/events", events),
    Route("/admin/events/new", event_new, methods=["GET", "POST"]),
    Route("/admin/events/{id}/edit", event_edit, methods=["GET", "POST"]),
    Route("/admin/events/{id}/cancel", event_cancel, methods=["GET", "POST"]),
    Route("/admin/events/{id}/delete", event_delete, methods=["GET", "POST"]),
]
