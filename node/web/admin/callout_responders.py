"""A callout's own admin page, for its organisers: its state and state buttons,
who answered (confirmed and standby in answer order, "help another way",
answers while it was being checked, removed), answers per server (a flood from
one domain shows), who was sent which direct message, and removing a responder
(the next on standby moves up: ``remove_responder`` in
``node/content/responders.py``).

Alert subscribers who answered through their personal link are listed among
them, marked as such, with the name or nickname and the way to be reached they
gave (organisers only, like everything here).

Editors and admins only (``require``); no public page reads these. The audit
log names the callout of a removal, never the responder: it outlives the
retention days after which who answered is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.alerts.tokens import is_alert_actor
from node.audit import audit
from node.content.models import Callout
from node.content.responders import Responder, remove_responder, responder_report
from node.content.text import format_moment
from node.i18n import gettext as _
from node.i18n import lazy_gettext, lazy_pgettext
from node.models import RemoteActor
from node.web.admin.callout_actions import allowed_buttons
from node.web.admin.forms import field_text
from node.web.admin.listings import safe_link, when
from node.web.admin.object_pages import audit_target, find_item, missing_page
from node.web.admin.session import render, require
from node.web.context import ctx

MESSAGE_WORDS = {
    "confirmed": lazy_gettext("sent the address"),
    "standby": lazy_gettext("told they are on standby"),
    "called-off": lazy_gettext("told not to go"),
}
GROUPS = (
    ("confirmed", lazy_pgettext("people", "Confirmed")),
    ("standby", lazy_gettext("Standby")),
    ("pending", lazy_gettext("Answered while being checked")),
    ("help", lazy_gettext("Can help another way")),
    ("removed", lazy_gettext("Removed by an organiser")),
)
REMOVABLE = frozenset({"confirmed", "standby", "pending"})


@dataclass(frozen=True)
class Line:
    """One responder as the page shows them."""

    actor_uri: str
    handle: str  # @name@domain, or their id when we never fetched the account
    link: str | None
    via: str | None  # "alert by push", "alert by e-mail": answered without an account
    reach: str
    answered: str  # in the callout's zone
    messaged: list[str]
    removable: bool


async def _handles(request: Request, uris: set[str]) -> dict[str, RemoteActor]:
    async with ctx(request).sessions() as session:
        found = await session.scalars(select(RemoteActor).where(RemoteActor.uri.in_(uris)))
        return {actor.uri: actor for actor in found}


VIA = {
    "push": lazy_gettext("alert by push"),
    "email": lazy_gettext("alert by e-mail"),
    None: lazy_gettext("alert (since unsubscribed)"),
}


def _line(responder: Responder, actor: RemoteActor | None, tz: str) -> Line:
    handle = f"@{actor.preferred_username}@{actor.domain}" if actor else responder.actor_uri
    link = safe_link((actor.url or actor.uri) if actor else responder.actor_uri)
    if responder.via_alert:
        handle, link = responder.name or _("(no name given)"), None
    return Line(
        actor_uri=responder.actor_uri,
        handle=handle,
        link=link,
        via=str(VIA.get(responder.channel, VIA[None])) if responder.via_alert else None,
        reach=responder.reach,
        answered=format_moment(responder.answered_at, tz),
        messaged=[str(MESSAGE_WORDS.get(kind, kind)) for kind in responder.messaged],
        removable=responder.label in REMOVABLE,
    )


async def _page(request: Request, error: str | None = None) -> Response:
    async with ctx(request).sessions() as session:
        callout = await find_item(session, Callout, request)
        if callout is None:
            return missing_page(request, "callout")
        report = await responder_report(session, callout)
    actors = await _handles(request, {r.actor_uri for r in report.responders})
    groups: dict[str, list[Line]] = {key: [] for key, _title in GROUPS}
    for responder in report.responders:
        line = _line(responder, actors.get(responder.actor_uri), callout.timezone)
        groups.setdefault(responder.label, []).append(line)
    context: dict[str, Any] = {
        "callout": callout,
        "when": when(callout),
        "buttons": allowed_buttons(callout, datetime.now(UTC)),
        "groups": [(key, title, groups[key]) for key, title in GROUPS],
        "per_server": report.per_server,
        "removed": request.query_params.get("done") == "removed",
        "error": error,
    }
    status = 409 if error else 200
    return render(request, "admin/callout_responses.html", context, status=status)


@require("editor")
async def callout_responses(request: Request) -> Response:
    return await _page(request)


@require("editor")
async def callout_remove_responder(request: Request) -> Response:
    """GET: ask first, naming the responder. POST: take them off; standby moves up."""
    actor_uri = request.query_params.get("actor", "")
    if request.method == "POST":
        actor_uri = field_text(request.state.form, "actor")
        return await _remove(request, actor_uri)
    async with ctx(request).sessions() as session:
        callout = await find_item(session, Callout, request)
    if callout is None:
        return missing_page(request, "callout")
    actor = (await _handles(request, {actor_uri})).get(actor_uri)
    handle = f"@{actor.preferred_username}@{actor.domain}" if actor else actor_uri
    if is_alert_actor(actor_uri):
        handle = _("this alert subscriber")
    context = {"callout": callout, "when": when(callout), "actor_uri": actor_uri, "handle": handle}
    return render(request, "admin/callout_remove.html", context)


async def _remove(request: Request, actor_uri: str) -> Response:
    node = ctx(request)
    try:
        async with node.sessions() as session, session.begin():
            callout = await find_item(session, Callout, request)
            if callout is None:
                return missing_page(request, "callout")
            await remove_responder(node, session, callout, actor_uri)
            audit(session, request.state.user, "callout.remove-responder", audit_target(callout))
    except ValueError as exc:  # not one who answered, or removed already
        return await _page(request, f"{exc}.")
    node.wake()
    return RedirectResponse(f"/admin/callouts/{callout.id}/responses?done=removed", status_code=303)


routes = [
    Route("/admin/callouts/{id}/responses", callout_responses),
    Route(
        "/admin/callouts/{id}/responders/remove",
        callout_remove_responder,
        methods=["GET", "POST"],
    ),
]
