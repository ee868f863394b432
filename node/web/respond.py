"""``/callouts/N/respond``: answering a callout from an alert's personal link.

GET shows the callout and a form (works without JavaScript); POST records the
answer and redirects back to the page (303), which then shows it. The token in
the form is the credential: a page on another site cannot know it, so the form
needs no other CSRF token (a cross-site ``Origin`` is refused as well). Without
a valid token nothing is counted and the page offers the alerts instead; a
closed callout says so and refuses answers (409).

Answering is limited per client (``client_key``, memory only), counted before
the token is checked, so guessing tokens is slow. Nothing about the request
(address, user agent) is stored.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.alerts.models import AlertSubscription
from node.alerts.respond import (
    MAX_NAME,
    MAX_REACH,
    AnswerError,
    answer_by_alert,
    closed_reason,
    current_answer,
    parse_answer,
    subscription_for,
)
from node.content.callout_text import public_where
from node.content.models import Callout, CalloutResponse
from node.content.text import format_moment, people, urgency_word
from node.i18n import gettext as _
from node.i18n import ngettext
from node.web.clients import SlidingWindow, client_key
from node.web.context import ctx
from node.web.site import page, site_of

MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


class _RefusedLink(AnswerError):
    """No valid personal link: the page says so and offers the alerts; nothing counts."""

    def __init__(self) -> None:
        super().__init__("", 403)


def _by_channel(subscription: AlertSubscription) -> str:
    """How the subscriber is told, as the end of a sentence ("… sent to you by e-mail")."""
    return _("by push notification") if subscription.channel == "push" else _("by e-mail")


def _role_words(role: str | None, by: str) -> str:
    """What a subscriber's answer led to, in the current language."""
    if role == "confirmed":
        return _("You are confirmed. Where to go is sent to you %(by_channel)s.", by_channel=by)
    if role == "standby":
        return _(
            "You are on standby: enough people are confirmed for now. "
            "You will be told %(by_channel)s if you are needed.",
            by_channel=by,
        )
    if role == "removed":
        return _("The organisers took your answer off the list.")
    return _("Your answer is recorded.")


def _limit(request: Request) -> SlidingWindow:
    window = getattr(request.app.state, "respond_limit", None)
    if window is None:
        window = request.app.state.respond_limit = SlidingWindow(30, 600.0)
    return window


def _throttle(request: Request) -> None:
    key = client_key(request.client.host if request.client else None)
    window = _limit(request)
    wait = window.retry_after(key)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise AnswerError(
            ngettext(
                "Too many answers from here. Try again in %(num)d minute.",
                "Too many answers from here. Try again in %(num)d minutes.",
                minutes,
            ),
            429,
        )
    window.record(key)


def _callout_id(request: Request) -> int | None:
    raw = request.path_params.get("id", "")
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 19 else None


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise AnswerError(_("That is too long."), 413)
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def _cross_site(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"
    own = urlsplit(ctx(request).urls.base)
    theirs = urlsplit(origin)
    return (theirs.scheme, theirs.netloc) != (own.scheme, own.netloc)


def _status_line(row: CalloutResponse | None, subscription: AlertSubscription) -> str | None:
    if row is None:
        return None
    chosen = _("I can come") if row.option == "come" else _("I can help another way")
    role = row.role if row.option == "come" else None
    return _(
        "You answered: %(answer)s. %(outcome)s",
        answer=chosen,
        outcome=_role_words(role, _by_channel(subscription)),
    )


def _details(callout: Callout) -> dict[str, Any]:
    needed = callout.needed
    if callout.people_needed:
        needed += " (" + people(callout.people_needed) + ")"
    return {
        "title": callout.title,
        "urgency": urgency_word(callout.urgency),
        "needed": needed,
        "where": public_where(callout),
        "from": format_moment(callout.starts_at, callout.timezone),
        "until": format_moment(callout.ends_at, callout.timezone),
        "url": callout.url,
    }


async def respond_page(request: Request) -> Response:
    """GET: the form (or why not). POST: record the answer."""
    if request.method == "POST":
        return await _post(request)
    return await _show(request, request.query_params.get("t", "")[:200])


async def _show(
    request: Request,
    token: str,
    *,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    context = ctx(request)
    callout_id = _callout_id(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
        callout = await session.get(Callout, callout_id) if callout_id is not None else None
        if callout is None or not callout.local:
            return _page(request, site, None, state="missing", status=404)
        subscription = await subscription_for(session, callout.id, token) if token else None
        row = await current_answer(session, callout, subscription) if subscription else None
        status_line = _status_line(row, subscription) if subscription else None
    details = _details(callout)
    if subscription is None:
        state = "invalid" if token else "anonymous"
        status = 403 if token and status == 200 else status
        return _page(request, site, details, state=state, status=status, error=error)
    closed = closed_reason(callout, datetime.now(UTC))
    form = values or {
        "option": row.option if row else "",
        "name": row.name if row else "",
        "reach": row.reach if row else "",
    }
    return _page(
        request,
        site,
        details,
        state="closed" if closed else "open",
        status=status,
        closed=closed,
        token=token,
        form=form,
        answered=status_line,
        saved=request.query_params.get("saved") == "1" and error is None,
        error=error,
        by_channel=_by_channel(subscription),
    )


def _page(
    request: Request,
    site: Any,
    callout: dict[str, Any] | None,
    *,
    state: str,
    status: int,
    **extra: Any,
) -> Response:
    values = {
        "site": site,
        "nav": "/callouts",
        "callout": callout,
        "state": state,
        "max_name": MAX_NAME,
        "max_reach": MAX_REACH,
        **extra,
    }
    return page(request, "respond.html", values, status_code=status, headers=NO_STORE)


async def _post(request: Request) -> Response:
    context = ctx(request)
    token = ""
    values: dict[str, str] = {}
    try:
        _throttle(request)
        if _cross_site(request):
            raise AnswerError(_("Answers are taken only from this site's own page."), 403)
        form = await _form(request)
        token = form.get("t", "")[:200]
        values = {k: form.get(k, "")[:300] for k in ("option", "name", "reach")}
        answer = parse_answer(form.get("option"), form.get("name"), form.get("reach"))
        callout_id = _callout_id(request)
        async with context.sessions() as session, session.begin():
            callout = await session.get(Callout, callout_id) if callout_id is not None else None
            if callout is None or not callout.local:
                raise AnswerError(_("There is no such callout."), 404)
            subscription = await subscription_for(session, callout.id, token)
            if subscription is None:
                raise _RefusedLink()
            await answer_by_alert(context, session, callout, subscription, answer)
    except AnswerError as exc:
        if isinstance(exc, _RefusedLink) or exc.status_code == 404:
            return await _show(request, token, status=403)
        if exc.status_code in (413, 429) or (exc.status_code == 403 and not token):
            return await _show(request, token, error=exc.message, status=exc.status_code)
        return await _show(request, token, error=exc.message, status=exc.status_code, values=values)
    context.wake()
    query = urlencode({"t": token, "saved": "1"})
    return RedirectResponse(
        f"/callouts/{callout.id}/respond?{query}", status_code=303, headers=NO_STORE
    )


routes: list[BaseRoute] = [
    Route("/callouts/{id:str}/respond", respond_page, methods=["GET", "POST"]),
]
