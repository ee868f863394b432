"""Admin pages for the network's events: list, create, edit, cancel, delete.

The shared create / edit / cancel / delete flow is in ``object_pages.py``; this
module supplies what is particular to events and their routes, and one check of
its own: an event that would be published starting in the past (ended, for an
all-day event) is refused until the editor ticks "Yes, publish an event in the
past", so a mistyped year does not go out to every follower.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content import events as ev
from node.content.calendar import upcoming_events
from node.content.models import Event
from node.content.validation import ContentError
from node.context import NodeContext
from node.i18n import lazy_gettext
from node.web.admin.forms import EVENT_FIELDS, FieldErrors, FormValues, field_text, input_time
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

PAST_FIELD = "confirm_past"
PAST_QUESTION = lazy_gettext(
    "This event starts in the past. Check the date; to publish it anyway, "
    'tick "Yes, publish an event in the past".'
)


@dataclass(frozen=True)
class EventInput:
    """The event form as posted, and whether publishing it in the past was confirmed."""

    event: ev.EventForm
    past_ok: bool = False


def _event_form(form: FormData) -> EventInput:
    fields = {name: field_text(form, name) for name in EVENT_FIELDS}
    return EventInput(ev.EventForm(**fields, all_day="all_day" in form), PAST_FIELD in form)


def _blank_form(timezone: str) -> EventInput:
    return EventInput(ev.EventForm(timezone=timezone))


def _form_of(event: Event) -> EventInput:
    return EventInput(ev.form_of(event))


def _event_values(given: EventInput) -> FormValues:
    form = given.event
    values: FormValues = {k: "" if v is None else v for k, v in asdict(form).items()}
    if isinstance(form.tags, list):
        values["tags"] = ", ".join(form.tags)
    values["start"], values["end"] = input_time(form.start), input_time(form.end)
    values[PAST_FIELD] = given.past_ok
    return values


def _ask_about_the_past(form: ev.EventForm, default_timezone: str, was: Event | None) -> None:
    """Refuse (``ContentError`` on the confirmation box) an event that would start in
    the past, or end in it when all-day; an edit that keeps its start is not asked."""
    values = ev.event_values(form, default_timezone)
    if was is not None and values["starts_at"] == was.starts_at:
        return
    moment = values["ends_at"] if values["all_day"] else values["starts_at"]
    if moment < datetime.now(UTC):
        raise ContentError(PAST_FIELD, str(PAST_QUESTION))


async def _create(node: NodeContext, session: AsyncSession, given: EventInput) -> Event:
    if not given.past_ok:
        _ask_about_the_past(given.event, node.settings.timezone, None)
    return await ev.create_event(node, session, given.event)


async def _update(
    node: NodeContext, session: AsyncSession, item: Event, given: EventInput
) -> Event:
    if not given.past_ok:
        merged = given.event.merged_into(ev.form_of(item))
        _ask_about_the_past(merged, node.settings.timezone, item)
    return await ev.update_event(node, session, item, given.event)


def _extras(values: FormValues, errors: FieldErrors) -> dict[str, object]:
    return {"ask_past": PAST_FIELD in errors or bool(values.get(PAST_FIELD))}


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
    form_of=_form_of,
    values_of=_event_values,
    create=_create,
    update=_update,
    listing=_events_page,
    form_extras=_extras,
)
CANCEL = Action(verb="cancel", change=ev.cancel_event, done="cancelled")
DELETE = Action(verb="delete", change=ev.delete_event, done="deleted")
ASK_CANCEL = Confirmation(
    heading=lazy_gettext("Cancel this event?"),
    explanation=lazy_gettext("It stays listed, marked cancelled, and followers are told."),
    button=lazy_gettext("Cancel the event"),
)
ASK_DELETE = Confirmation(
    heading=lazy_gettext("Delete this event?"),
    explanation=lazy_gettext(
        "It disappears from this site and followers are asked to remove it. "
        "This cannot be undone; to call an event off, cancel it instead."
    ),
    button=lazy_gettext("Delete for good"),
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
