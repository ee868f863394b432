"""The iCalendar and Atom feeds.

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

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from node.content.calendar import origins, upcoming_events
from node.content.changes import Counters
from node.content.lookup import as_item
from node.content.models import Callout, Event
from node.feeds.atom import FeedEntry, FeedInfo, callout_entry, event_entry, render_feed
from node.feeds.ical import CalendarInfo, entries_to_ical
from node.web.context import ctx
from node.web.pagecache import Rendered, earliest, serve
from node.web.site import Filters, filters_of, site_of

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
    }
    return Rendered(body, media_type, headers, expires=expires)


def _latest(items: Sequence[Event | Callout], fallback: datetime) -> datetime:
    return max((item.updated_at for item in items), default=fallback)


async def _render_ics(
    request: Request, filters: Filters, federation: bool, counters: Counters | None
) -> Rendered:
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
    if federation:
        info = CalendarInfo(
            f"{site.name}: federation calendar",
            "Events of this network and the networks it follows",
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


routes: list[BaseRoute] = [
    Route("/events.ics", events_ics),
    Route("/calendar.ics", calendar_ics),
    Route("/events.atom", events_atom),
    Route("/callouts.atom", callouts_atom),
]
