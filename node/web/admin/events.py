"""Admin pages for the network's events: list, create, edit, cancel, delete."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.audit import audit
from node.content import events as ev
from node.content.calendar import upcoming_events
from node.content.models import Event
from node.content.validation import ContentError
from node.web.admin.forms import (
    EVENT_FIELDS,
    LABELS,
    PAST_SHOWN,
    _act,
    _confirm,
    _done,
    _find,
    _input_time,
    _load,
    _missing,
    _notice,
    _problem,
    _row,
    _target,
    _text,
    zones,
)
from node.web.admin.session import render, require
from node.web.context import ctx


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
