"""The iCalendar and Atom feeds, and each event's and callout's own ``.ics``.

Rendering ``/calendar.ics`` (hundreds of events with their time zones) costs a
few hundred milliseconds of CPU, so each feed is rendered once per change of
what it shows and the bytes are served from memory until then
(``node.web.pagecache``). Feeds carry an ETag of their bytes and answer a
matching ``If-None-Match`` with 304.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.content.calendar import origins, upcoming_events
from node.content.changes import Counters
from node.content.lookup import as_item
from node.content.models import Callout, Event
from node.feeds.atom import FeedEntry, FeedInfo, callout_entry, event_entry, render_feed
from node.feeds.ical import CalendarInfo, entries_to_ical
from node.i18n import gettext as _
from node.web.context import ctx
from node.web.pagecache import Rendered, earliest, serve
from node.web.site import Filters, filters_of, language_headers, normal_tag, row_id, site_of

FEED_MAX_AGE = 300
FEED_LIMIT = 500
ATOM_LIMIT = 50
FEED_PAST = timedelta(days=30)  # feeds keep recent past events, so calendars do not lose them
ICS_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def feed_rendered(
    body: bytes, media_type: str, last_modified: datetime, expires: datetime | None
) -> Rendered:
    headers = {
        "Cache-Control": f"public, max-age={FEED_MAX_AGE}",
        "Last-Modified": format_datetime(last_modified.astimezone(UTC), usegmt=True),
        **language_headers(),  # the feeds' words are in the reader's language
    }
    return Rendered(body, media_type, headers, expires=expires)


def _latest(items: Sequence[Event | Callout], fallback: datetime) -> datetime:
    return max((item.updated_at for item in items), default=fallback)


async def _render_ics(
    request: Request, filters: Filters, federation: bool, counters: Counters | None
) -> Rendered:
    """The node's events (``/events.ics``), the federation's (``/calendar.ics``), or
    the federation's with a tag (``/tags/x.ics``, when ``filters`` has one)."""
    context = ctx(request)
    since = datetime.now(UTC) - FEED_PAST
    async with context.sessions() as session:
        site = await site_of(session, context)
        events = await upcoming_events(
            session,
            since,
            limit=FEED_LIMIT,
            local_only=not federation,
            origin_domain=filters.node or None,
            tag=filters.tag or None,
            longest=counters.longest_event if counters else None,
        )
        entries = await origins(session, list(events), site.host)
    if federation and filters.tag and not filters.node:
        info = CalendarInfo(
            f"{site.name}: #{filters.tag}",
            _(
                "Events tagged #%(tag)s from this network and the networks it follows",
                tag=filters.tag,
            ),
            f"{site.base}/tags/{quote(filters.tag)}",
        )
    elif federation:
        info = CalendarInfo(
            _("%(network)s: federation calendar", network=site.name),
            _("Events of this network and the networks it follows"),
            f"{site.base}/calendar{filters.query()}",
        )
    else:
        info = CalendarInfo(site.name, site.summary, f"{site.base}/")
    body = entries_to_ical(info, entries)
    # an event leaves the feed FEED_PAST after it ends
    expires = earliest([event.ends_at + FEED_PAST for event in events], since + FEED_PAST)
    return feed_rendered(body, ICS_TYPE, _latest(events, site.updated), expires)


async def _ics(request: Request, *, federation: bool) -> Response:
    filters = filters_of(request) if federation else Filters()

    async def render(counters: Counters | None) -> Rendered:
        return await _render_ics(request, filters, federation, counters)

    return await serve(request, ("ics", federation, filters), render)


async def events_ics(request: Request) -> Response:
    return await _ics(request, federation=False)


async def calendar_ics(request: Request) -> Response:
    return await _ics(request, federation=True)


async def tag_ics(request: Request) -> Response:
    """``/tags/x.ics``: the events of the federation's calendar tagged ``x``."""
    filters = Filters(tag=normal_tag(request.path_params["tag"]))
    if not filters.tag:
        raise HTTPException(404)

    async def render(counters: Counters | None) -> Rendered:
        return await _render_ics(request, filters, True, counters)

    return await serve(request, ("ics-tag", filters), render)


async def _render_one(
    request: Request, model: type[Event] | type[Callout], where: ColumnElement[bool]
) -> Rendered:
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
        item = as_item(await session.scalar(select(model).where(where)))
        if item is None:
            raise HTTPException(404)
        entries = await origins(session, [item], site.host)
    body = entries_to_ical(CalendarInfo(item.title, "", item.url), entries)
    return feed_rendered(body, ICS_TYPE, item.updated_at, None)


def _one_ics_route(model: type[Event] | type[Callout], ours: bool) -> Any:
    """One item as a calendar of one entry: ours at ``/events/N.ics`` (beside its
    page), another node's at ``/calendar/events/N.ics`` (beside our copy's page)."""
    kind = model.__tablename__

    async def endpoint(request: Request) -> Response:
        key = row_id(request.path_params["id"])
        if key is None:
            raise HTTPException(404)
        base = ctx(request).urls.base
        where = model.uri == f"{base}/{kind}/{key}" if ours else model.id == key
        where = where & model.local.is_(ours)

        async def render(_: Counters | None) -> Rendered:
            return await _render_one(request, model, where)

        return await serve(request, ("ics-one", kind, ours, key), render)

    endpoint.__name__ = f"{kind}_ics" if ours else f"remote_{kind}_ics"
    return endpoint


async def _render_atom(request: Request, model: type[Event] | type[Callout]) -> Rendered:
    context = ctx(request)
    now = datetime.now(UTC)
    async with context.sessions() as session:
        site = await site_of(session, context)
        rows = await session.scalars(
            select(model)
            .where(model.local.is_(True))
            .order_by(model.updated_at.desc(), model.id.desc())
            .limit(ATOM_LIMIT)
        )
        items = [item for item in map(as_item, rows.all()) if item is not None]
        entries = await origins(session, items, site.host)
    is_event = model is Event
    kind = "events" if is_event else "callouts"
    feed_entries: list[FeedEntry] = [
        event_entry(entry) if is_event else callout_entry(entry, base=site.base, now=now)
        for entry in entries
    ]
    info = FeedInfo(
        feed_url=f"{site.base}/{kind}.atom",
        title=f"{site.name}: {kind}",
        subtitle=site.summary,
        page_url=f"{site.base}/" if is_event else f"{site.base}/callouts",
        author=site.name,
        author_url=site.actor_url,
        updated=_latest(items, site.updated),
    )
    # a callout's entry says "Expired" once its time is up
    expires = None if is_event else earliest([item.ends_at for item in items], now)
    return feed_rendered(render_feed(info, feed_entries), ATOM_TYPE, info.updated, expires)


async def _atom(request: Request, model: type[Event] | type[Callout]) -> Response:
    async def render(_: Counters | None) -> Rendered:
        return await _render_atom(request, model)

    return await serve(request, ("atom", model.__tablename__), render)


async def events_atom(request: Request) -> Response:
    return await _atom(request, Event)


async def callouts_atom(request: Request) -> Response:
    return await _atom(request, Callout)


# Before the pages (``/events/{id}``, ``/calendar/events/{id}``), which would take
# "5.ics" for an id: node/app.py lists these first.
item_routes: list[BaseRoute] = [
    Route("/events/{id:str}.ics", _one_ics_route(Event, ours=True)),
    Route("/callouts/{id:str}.ics", _one_ics_route(Callout, ours=True)),
    Route("/calendar/events/{id:str}.ics", _one_ics_route(Event, ours=False)),
    Route("/calendar/callouts/{id:str}.ics", _one_ics_route(Callout, ours=False)),
]

routes: list[BaseRoute] = [
    Route("/events.ics", events_ics),
    Route("/calendar.ics", calendar_ics),
    Route("/events.atom", events_atom),
    Route("/callouts.atom", callouts_atom),
]
