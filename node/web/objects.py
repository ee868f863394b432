"""Our events and callouts at their ids: AS2 JSON for servers, a page for people,
410 Gone once deleted. Also the actor's ``upcomingEvents`` (FEP-8a8e)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.ap.callouts import callout_to_as
from node.ap.collections import ordered_collection_page
from node.ap.context import document
from node.ap.events import event_to_as, tombstone_to_as
from node.content.calendar import upcoming_events
from node.content.lookup import as_item
from node.content.models import Callout, Event, Tombstone
from node.i18n import gettext as _
from node.identity import group_actor
from node.models import OutboundActivity
from node.outbox import current_body, is_deleted
from node.web.context import ctx
from node.web.public import item_page, render_item, row_id, templates
from node.web.responses import as2_response, json_error, wants_activity_json


async def _gone(request: Request, tombstone: Tombstone) -> Response:
    if wants_activity_json(request):
        doc = document(tombstone_to_as(tombstone.uri, tombstone.former_type, tombstone.deleted_at))
        response = as2_response(doc, max_age=300)
        response.status_code = 410
        return response
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": 410,
            "title": _("Deleted"),
            "message": _("This was deleted by its publisher."),
        },
        status_code=410,
        headers={"Vary": "Accept"},
    )


async def _not_found(request: Request) -> Response:
    if wants_activity_json(request):
        return json_error(404, "no such object")
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": 404,
            "title": _("Not found"),
            "message": _("There is nothing at this address."),
        },
        status_code=404,
    )


def _object_route(model: type[Event] | type[Callout], prefix: str) -> Any:
    async def endpoint(request: Request) -> Response:
        context = ctx(request)
        if row_id(request.path_params["id"]) is None:
            return await _not_found(request)
        uri = f"{context.urls.base}/{prefix}/{request.path_params['id']}"
        if not wants_activity_json(request):
            page = await item_page(request, model, uri)  # kept until something changes
            if page is not None:
                return page
        async with context.sessions() as session:
            item = as_item(await session.scalar(select(model).where(model.uri == uri)))
            if item is None:
                tombstone = await session.get(Tombstone, uri)
                return await (_gone(request, tombstone) if tombstone else _not_found(request))
            if not wants_activity_json(request):
                return await render_item(request, session, item, as_url=uri)
            actor = await group_actor(session)
        actor_id = context.urls.actor(actor.username)
        if isinstance(item, Event):
            doc = event_to_as(item, context.urls, actor_id, language=context.settings.language)
        else:
            doc = callout_to_as(
                item,
                context.urls,
                actor_id,
                now=datetime.now(UTC),
                language=context.settings.language,
            )
        return as2_response(document(doc), max_age=30)

    endpoint.__name__ = f"{prefix}_page"
    return endpoint


async def upcoming(request: Request) -> Response:
    """FEP-8a8e ``upcomingEvents``: not yet ended, ascending start."""
    context = ctx(request)
    async with context.sessions() as session:
        actor = await group_actor(session)
        if actor.username != request.path_params["username"]:
            return json_error(404, "no such actor")
        events = await upcoming_events(session, datetime.now(UTC), local_only=True, limit=100)
    actor_id = context.urls.actor(actor.username)
    language = context.settings.language
    items = [event_to_as(event, context.urls, actor_id, language=language) for event in events]
    doc = ordered_collection_page(f"{actor_id}/events", 1, items, len(items))
    doc["type"] = "OrderedCollection"
    for key in ("partOf", "next", "prev"):
        doc.pop(key, None)
    doc["id"] = f"{actor_id}/events"
    return as2_response(doc, vary=False, max_age=60)


ACTIVITY_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")


async def activity_page(request: Request) -> Response:
    """An activity of ours, for people: what it did, and a link to its object.

    Only what is current is served: an activity about a deleted object answers
    410 (its ``Delete`` stays, it carries no content), an older ``Create`` or
    ``Update`` shows the object as it is now (``node.outbox.current_body``), and
    activities that were never public (an ``Accept`` naming a follower) are not
    served at all.
    """
    token = request.path_params["token"]
    if not ACTIVITY_TOKEN.fullmatch(token):
        return await _not_found(request)
    uri = ctx(request).urls.activity(token)
    async with ctx(request).sessions() as session:
        row = await session.scalar(select(OutboundActivity).where(OutboundActivity.uri == uri))
        if row is None or not row.public:  # a direct message is its recipient's alone
            return await _not_found(request)
        if await is_deleted(session, row):
            return await _deleted_activity(request)
        doc = await current_body(session, row) if wants_activity_json(request) else None
    if doc is not None:
        return as2_response(doc, max_age=60)
    return templates.TemplateResponse(
        request, "activity.html", {"activity": row}, headers={"Vary": "Accept"}
    )


async def _deleted_activity(request: Request) -> Response:
    if wants_activity_json(request):
        return json_error(410, "what this activity was about was deleted by its publisher")
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status_code": 410,
            "title": _("Deleted"),
            "message": _("This was deleted by its publisher."),
        },
        status_code=410,
        headers={"Vary": "Accept"},
    )


routes = [
    Route("/events/{id:str}", _object_route(Event, "events")),
    Route("/callouts/{id:str}", _object_route(Callout, "callouts")),
    Route("/actors/{username:str}/events", upcoming),
    Route("/activities/{token:str}", activity_page),
]
