"""Admin pages for callouts: list, create (one short screen), edit, close (met),
cancel, delete, and who answered (for the organisers only)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.audit import audit
from node.content import callouts as co
from node.content.calendar import open_callouts
from node.content.models import Callout
from node.content.text import format_moment
from node.content.validation import ContentError
from node.context import NodeContext
from node.models import RemoteActor
from node.web.admin.forms import (
    CALLOUT_FIELDS,
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
    _safe_link,
    _target,
    _text,
    _when,
    zones,
)
from node.web.admin.session import render, require
from node.web.context import ctx


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
