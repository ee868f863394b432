"""The public site: the front page, the federation's calendar and callouts, tag
pages, remote follow, this node's copies of other nodes' events and callouts,
and the iCalendar and Atom feeds.

Pages work without JavaScript and load nothing from anywhere else; the copy
buttons (``static/copy.js``) are an enhancement. Feeds carry an ETag of their
bytes and answer a matching ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.content.calendar import Entry, open_callouts, origins, upcoming_events
from node.content.models import Callout, Event
from node.feeds.atom import FeedEntry, FeedInfo, callout_entry, event_entry, render_feed
from node.feeds.ical import CalendarInfo, entries_to_ical
from node.identity import group_actor
from node.models import Following, RemoteActor
from node.web.context import NodeContext, ctx
from node.web.remote_follow import RemoteFollowError, remote_follow_url
from node.web.templating import item_link, local_day, make_templates, static_mount

templates = make_templates()

# Pages are revalidated on every visit: a cancelled callout or an edited event
# must never show its old state (to readers, or to the editor who just changed it).
PAGE_CACHE = "public, no-cache"
FEED_MAX_AGE = 300
PAGE_SIZE = 50
MAX_PAGE = 20
HOME_LIMIT = 20
FEED_LIMIT = 500
ATOM_LIMIT = 50
FEED_PAST = timedelta(days=30)  # feeds keep recent past events, so calendars do not lose them
MAX_FORM_BYTES = 4096
ICS_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class Site:
    """The node as its pages name it."""

    name: str
    summary: str
    handle: str
    actor_url: str
    base: str
    host: str
    updated: datetime


@dataclass(frozen=True)
class Filters:
    """The calendar's ``?node=`` and ``?tag=``, normalised."""

    node: str = ""
    tag: str = ""

    def query(self, **extra: Any) -> str:
        values = {"node": self.node, "tag": self.tag, **extra}
        encoded = urlencode({k: v for k, v in values.items() if v})
        return f"?{encoded}" if encoded else ""


@dataclass(frozen=True)
class NodeChoice:
    domain: str
    label: str


async def site_of(session: AsyncSession, context: NodeContext) -> Site:
    actor = await group_actor(session)
    host = context.settings.host
    return Site(
        name=actor.display_name or actor.username,
        summary=actor.summary,
        handle=f"@{actor.username}@{host}",
        actor_url=context.urls.actor(actor.username),
        base=context.urls.base,
        host=host,
        updated=actor.updated_at,
    )


def node_feeds() -> list[dict[str, str]]:
    return [
        {"type": "text/calendar", "title": "Events (iCalendar)", "href": "/events.ics"},
        {"type": "application/atom+xml", "title": "Events (Atom)", "href": "/events.atom"},
        {"type": "application/atom+xml", "title": "Callouts (Atom)", "href": "/callouts.atom"},
    ]


def page(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A public page: cacheable briefly, with the node's feeds advertised."""
    context = {"now": datetime.now(UTC), "feeds": node_feeds(), **values}
    all_headers = {"Cache-Control": PAGE_CACHE, **(headers or {})}
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=all_headers
    )


# -- front page and following ----------------------------------------------------------------


async def render_home(request: Request, status_code: int = 200) -> Response:
    context = ctx(request)
    now = datetime.now(UTC)
    async with context.sessions() as session:
        site = await site_of(session, context)
        callouts = await open_callouts(session, now, limit=HOME_LIMIT, local_only=True)
        events = await upcoming_events(session, now, limit=HOME_LIMIT, local_only=True)
        entries = await origins(session, [*callouts, *events], site.host)
    values = {
        "site": site,
        "nav": "/",
        "callouts": entries[: len(callouts)],
        "events": entries[len(callouts) :],
        "follow_handle": "",
        "follow_error": None,
    }
    return page(request, "home.html", values, status_code=status_code)


async def home(request: Request) -> Response:
    return await render_home(request)


async def _follow_page(
    request: Request, site: Site, *, handle: str = "", error: str | None = None, status: int = 200
) -> Response:
    values = {"site": site, "nav": "/follow", "follow_handle": handle, "follow_error": error}
    headers = {"Cache-Control": "no-store"} if error else None
    return page(request, "follow.html", values, status_code=status, headers=headers)


async def _form_field(request: Request, name: str) -> str | None:
    """One field of a small urlencoded form; None when the body is too big."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return (fields.get(name) or [""])[0]


async def follow(request: Request) -> Response:
    """GET: how to follow. POST: send the visitor to their own server to follow us."""
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
    if request.method != "POST":
        return await _follow_page(request, site)
    handle = await _form_field(request, "handle")
    if handle is None:
        return await _follow_page(request, site, error="That is too long.", status=413)
    try:
        url = await remote_follow_url(context, handle, site.actor_url)
    except RemoteFollowError as exc:
        shown, status = handle.strip()[:300], exc.status_code
        return await _follow_page(request, site, handle=shown, error=exc.message, status=status)
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


# -- the federation's calendar, callouts and tags -----------------------------------------------


def _param(text: str, limit: int) -> str:
    """A query or path value fit for a database parameter: no control characters."""
    return "".join(c for c in text if c.isprintable()).strip()[:limit]


def normal_tag(text: str) -> str:
    return _param(text, 60).lstrip("#").lower()[:50]


def row_id(text: str) -> int | None:
    """A database id from a path: plain ASCII digits that fit a BIGINT, else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def filters_of(request: Request) -> Filters:
    node = _param(request.query_params.get("node", ""), 255).lower()
    return Filters(node=node, tag=normal_tag(request.query_params.get("tag", "")))


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return MAX_PAGE if len(raw) > 6 else min(max(int(raw), 1), MAX_PAGE)


def by_day(entries: Sequence[Entry]) -> list[tuple[date, list[Entry]]]:
    """Consecutive entries grouped under the day each starts, in its own zone."""
    days: list[tuple[date, list[Entry]]] = []
    for entry in entries:
        day = local_day(entry.item)
        if days and days[-1][0] == day:
            days[-1][1].append(entry)
        else:
            days.append((day, [entry]))
    return days


async def node_choices(session: AsyncSession, site: Site, current: str) -> list[NodeChoice]:
    """This node, then the nodes it follows (and the one filtered on, if neither)."""
    rows = await session.execute(
        select(RemoteActor.domain, RemoteActor.name, RemoteActor.preferred_username)
        .join(Following, Following.remote_actor_id == RemoteActor.id)
        .where(Following.state == "accepted")
        .order_by(RemoteActor.domain)
    )
    choices = {site.host: NodeChoice(site.host, f"{site.name} (this network)")}
    for domain, name, username in rows.all():
        choices.setdefault(domain, NodeChoice(domain, f"{name or username} ({domain})"))
    if current and current not in choices:
        choices[current] = NodeChoice(current, current)
    return list(choices.values())


async def _event_listing(
    request: Request, session: AsyncSession, site: Site, filters: Filters
) -> dict[str, Any]:
    """The paged, day-grouped events that match ``filters``, and their paging links."""
    number = page_number(request)
    found = await upcoming_events(
        session,
        datetime.now(UTC),
        limit=number * PAGE_SIZE + 1,
        origin_domain=filters.node or None,
        tag=filters.tag or None,
    )
    shown = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    entries = await origins(session, list(shown), site.host)
    later = len(found) > number * PAGE_SIZE and number < MAX_PAGE
    return {
        "days": by_day(entries),
        "filters": filters,
        "prev_url": f"/calendar{filters.query(page=number - 1)}" if number > 1 else None,
        "next_url": f"/calendar{filters.query(page=number + 1)}" if later else None,
        "ics_url": f"/calendar.ics{filters.query()}",
        "ics_label": "this calendar (iCalendar)",
    }


def _calendar_feeds(filters: Filters) -> list[dict[str, str]]:
    feed = {
        "type": "text/calendar",
        "title": "Federation calendar (iCalendar)",
        "href": f"/calendar.ics{filters.query()}",
    }
    return [feed, *node_feeds()]


async def calendar(request: Request) -> Response:
    context = ctx(request)
    filters = filters_of(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
        listing = await _event_listing(request, session, site, filters)
        choices = await node_choices(session, site, filters.node)
    heading = "Calendar" + (f": #{filters.tag}" if filters.tag else "")
    values = {"site": site, "nav": "/calendar", "heading": heading, "node_choices": choices}
    values["feeds"] = _calendar_feeds(filters)
    return page(request, "calendar.html", {**values, **listing})


async def callouts(request: Request) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
        found = await open_callouts(session, datetime.now(UTC), limit=100)
        entries = await origins(session, list(found), site.host)
    values = {"site": site, "nav": "/callouts", "callouts": entries}
    return page(request, "callouts.html", values)


async def tag_page(request: Request) -> Response:
    """Events with a tag; ``#callout`` (the tag every callout carries) also lists callouts."""
    context = ctx(request)
    filters = Filters(tag=normal_tag(request.path_params["tag"]))
    if not filters.tag:
        raise HTTPException(404)
    async with context.sessions() as session:
        site = await site_of(session, context)
        listing = await _event_listing(request, session, site, filters)
        tagged_callouts = None
        if filters.tag == "callout":
            found = await open_callouts(session, datetime.now(UTC), limit=100)
            tagged_callouts = await origins(session, list(found), site.host)
    values = {"site": site, "tag": filters.tag, "callouts": tagged_callouts}
    values["day_level"] = 3 if tagged_callouts is not None else 2
    values["feeds"] = _calendar_feeds(filters)
    return page(request, "tag.html", {**values, **listing})


# -- single events and callouts ---------------------------------------------------------------


async def render_item(
    request: Request, session: AsyncSession, item: Event | Callout, *, as_url: str
) -> Response:
    """An event's or a callout's page (ours, or our copy of another node's)."""
    context = ctx(request)
    site = await site_of(session, context)
    entry = (await origins(session, [item], site.host))[0]
    template = "event.html" if isinstance(item, Event) else "callout.html"
    values = {"site": site, "item": item, "entry": entry, "as_url": as_url}
    return page(request, template, values, headers={"Vary": "Accept"})


def _copy_route(model: type[Event] | type[Callout]) -> Any:
    async def endpoint(request: Request) -> Response:
        key = row_id(request.path_params["id"])
        async with ctx(request).sessions() as session:
            item = await session.get(model, key) if key is not None else None
            if item is None:
                raise HTTPException(404)
            if item.local:
                return RedirectResponse(item_link(item), status_code=301)
            return await render_item(request, session, item, as_url=item.uri)

    endpoint.__name__ = f"remote_{model.__tablename__}"
    return endpoint


# -- feeds ------------------------------------------------------------------------------------


def _etag_matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def feed_response(
    request: Request, body: bytes, media_type: str, last_modified: datetime | None
) -> Response:
    """The feed, or 304 when the client already has these exact bytes."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"Cache-Control": f"public, max-age={FEED_MAX_AGE}", "ETag": etag}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _latest(items: Sequence[Event | Callout], fallback: datetime) -> datetime:
    return max((item.updated_at for item in items), default=fallback)


async def _ics(request: Request, *, federation: bool) -> Response:
    context = ctx(request)
    filters = filters_of(request) if federation else Filters()
    async with context.sessions() as session:
        site = await site_of(session, context)
        events = await upcoming_events(
            session,
            datetime.now(UTC) - FEED_PAST,
            limit=FEED_LIMIT,
            local_only=not federation,
            origin_domain=filters.node or None,
            tag=filters.tag or None,
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
    return feed_response(request, body, ICS_TYPE, _latest(events, site.updated))


async def events_ics(request: Request) -> Response:
    return await _ics(request, federation=False)


async def calendar_ics(request: Request) -> Response:
    return await _ics(request, federation=True)


async def _atom(request: Request, model: type[Event] | type[Callout]) -> Response:
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
        items = list(rows.all())
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
    body = render_feed(info, feed_entries)
    return feed_response(request, body, ATOM_TYPE, info.updated)


async def events_atom(request: Request) -> Response:
    return await _atom(request, Event)


async def callouts_atom(request: Request) -> Response:
    return await _atom(request, Callout)


routes: list[BaseRoute] = [
    Route("/", home),
    Route("/follow", follow, methods=["GET", "POST"]),
    Route("/calendar", calendar),
    Route("/callouts", callouts),
    Route("/tags/{tag:str}", tag_page),
    Route("/calendar/events/{id:str}", _copy_route(Event)),
    Route("/calendar/callouts/{id:str}", _copy_route(Callout)),
    Route("/events.ics", events_ics),
    Route("/calendar.ics", calendar_ics),
    Route("/events.atom", events_atom),
    Route("/callouts.atom", callouts_atom),
    # app.py mounts /static too; this one comes first and adds the caching policy
    static_mount(),
]
