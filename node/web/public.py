"""The public site: the front page, the federation's calendar and callouts, tag
pages, remote follow, and this node's copies of other nodes' events and callouts.
The feeds are in ``node.web.public_feeds``; what pages share, in ``node.web.site``.

Pages work without JavaScript and load nothing from anywhere else; the copy
buttons (``static/copy.js``) are an enhancement. Every page read goes through
``node.web.pagecache.serve``: rendered once per change of the database (by any
process) and revalidated by ETag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from node.content.calendar import Entry, open_callouts, origins, upcoming_events
from node.content.changes import Counters, read_counters
from node.content.lookup import as_item
from node.content.models import Callout, Event
from node.i18n import gettext as _
from node.models import Following, RemoteActor
from node.web import federation_page, public_feeds
from node.web.clients import client_key
from node.web.context import ctx
from node.web.pagecache import Rendered, earliest, public_reads, respond, serve
from node.web.remote_follow import LookupGate, RemoteFollowError, remote_follow_url
from node.web.site import (
    MAX_PAGE,
    PAGE_CACHE,
    Filters,
    Site,
    filters_of,
    node_feeds,
    normal_tag,
    page,
    page_number,
    render_page,
    row_id,
    site_of,
    templates,
)
from node.web.templating import item_link, local_day, static_mount

__all__ = ["PAGE_CACHE", "render_home", "render_item", "routes", "row_id", "templates"]

PAGE_SIZE = 50
HOME_LIMIT = 20
MAX_FORM_BYTES = 4096


@dataclass(frozen=True)
class NodeChoice:
    domain: str
    label: str


def _longest(counters: Counters | None) -> timedelta | None:
    return counters.longest_event if counters else None


# -- front page and following ----------------------------------------------------------------


async def _render_home(request: Request, counters: Counters | None) -> Rendered:
    context = ctx(request)
    now = datetime.now(UTC)
    async with context.sessions() as session:
        site = await site_of(session, context)
        callouts = await open_callouts(session, now, limit=HOME_LIMIT, local_only=True)
        events = await upcoming_events(
            session, now, limit=HOME_LIMIT, local_only=True, longest=_longest(counters)
        )
        entries = await origins(session, [*callouts, *events], site.host)
    values = {
        "site": site,
        "nav": "/",
        "callouts": entries[: len(callouts)],
        "events": entries[len(callouts) :],
        "follow_handle": "",
        "follow_error": None,
    }
    items: list[Event | Callout] = [*callouts, *events]
    expires = earliest([item.ends_at for item in items], now)
    return render_page("home.html", values, expires=expires)


async def render_home(request: Request) -> Response:
    """The front page (also what a browser gets at the node actor's id)."""

    async def render(counters: Counters | None) -> Rendered:
        return await _render_home(request, counters)

    return await serve(request, "home", render)


async def home(request: Request) -> Response:
    return await render_home(request)


async def _follow_page(
    request: Request,
    site: Site,
    *,
    handle: str = "",
    error: str | None = None,
    status: int = 200,
    retry_after: int | None = None,
) -> Response:
    values = {"site": site, "nav": "/follow", "follow_handle": handle, "follow_error": error}
    headers = {"Cache-Control": "no-store"} if error else None
    if headers is not None and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
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
    if request.method != "POST":

        async def render(_: Counters | None) -> Rendered:
            async with context.sessions() as session:
                site = await site_of(session, context)
            values = {"site": site, "nav": "/follow", "follow_handle": "", "follow_error": None}
            return render_page("follow.html", values)

        return await serve(request, "follow", render)
    async with context.sessions() as session:
        site = await site_of(session, context)
    handle = await _form_field(request, "handle")
    if handle is None:
        return await _follow_page(request, site, error=_("That is too long."), status=413)
    gate: LookupGate = request.app.state.follow_lookups
    client = client_key(request.client.host if request.client else None)
    try:
        url = await remote_follow_url(context, handle, site.actor_url, gate=gate, client=client)
    except RemoteFollowError as exc:
        shown, status = handle.strip()[:300], exc.status_code
        return await _follow_page(
            request,
            site,
            handle=shown,
            error=exc.message,
            status=status,
            retry_after=exc.retry_after,
        )
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


# -- the federation's calendar, callouts and tags -----------------------------------------------


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
    session: AsyncSession, site: Site, filters: Filters, number: int, counters: Counters | None
) -> tuple[dict[str, Any], list[datetime]]:
    """The paged, day-grouped events that match ``filters``, their paging links, and
    the end of every event read (the page changes when the first of them ends)."""
    found = await upcoming_events(
        session,
        datetime.now(UTC),
        limit=number * PAGE_SIZE + 1,
        origin_domain=filters.node or None,
        tag=filters.tag or None,
        longest=_longest(counters),
    )
    shown = found[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    entries = await origins(session, list(shown), site.host)
    later = len(found) > number * PAGE_SIZE and number < MAX_PAGE
    listing = {
        "days": by_day(entries),
        "filters": filters,
        "prev_url": f"/calendar{filters.query(page=number - 1)}" if number > 1 else None,
        "next_url": f"/calendar{filters.query(page=number + 1)}" if later else None,
        "ics_url": f"/calendar.ics{filters.query()}",
        "ics_label": _("this calendar (iCalendar)"),
    }
    return listing, [event.ends_at for event in found]


def _calendar_feeds(filters: Filters) -> list[dict[str, str]]:
    feed = {
        "type": "text/calendar",
        "title": _("Federation calendar (iCalendar)"),
        "href": f"/calendar.ics{filters.query()}",
    }
    return [feed, *node_feeds()]


async def calendar(request: Request) -> Response:
    context = ctx(request)
    filters, number = filters_of(request), page_number(request)

    async def render(counters: Counters | None) -> Rendered:
        now = datetime.now(UTC)
        async with context.sessions() as session:
            site = await site_of(session, context)
            listing, ends = await _event_listing(session, site, filters, number, counters)
            choices = await node_choices(session, site, filters.node)
        heading = _("Calendar: #%(tag)s", tag=filters.tag) if filters.tag else _("Calendar")
        values = {"site": site, "nav": "/calendar", "heading": heading, "node_choices": choices}
        values["feeds"] = _calendar_feeds(filters)
        return render_page("calendar.html", {**values, **listing}, expires=earliest(ends, now))

    return await serve(request, ("calendar", filters, number), render)


async def callouts(request: Request) -> Response:
    context = ctx(request)

    async def render(_: Counters | None) -> Rendered:
        now = datetime.now(UTC)
        async with context.sessions() as session:
            site = await site_of(session, context)
            found = await open_callouts(session, now, limit=100, include_ended=True)
            entries = await origins(session, list(found), site.host)
        values = {"site": site, "nav": "/callouts", "callouts": entries}
        expires = earliest([callout.ends_at for callout in found], now)
        return render_page("callouts.html", values, expires=expires)

    return await serve(request, "callouts", render)


async def tag_page(request: Request) -> Response:
    """Events with a tag; ``#callout`` (the tag every callout carries) also lists callouts."""
    context = ctx(request)
    filters, number = Filters(tag=normal_tag(request.path_params["tag"])), page_number(request)
    if not filters.tag:
        raise HTTPException(404)

    async def render(counters: Counters | None) -> Rendered:
        now = datetime.now(UTC)
        async with context.sessions() as session:
            site = await site_of(session, context)
            listing, ends = await _event_listing(session, site, filters, number, counters)
            tagged_callouts = None
            if filters.tag == "callout":
                found = await open_callouts(session, now, limit=100)
                tagged_callouts = await origins(session, list(found), site.host)
                ends += [callout.ends_at for callout in found]
        values = {"site": site, "tag": filters.tag, "callouts": tagged_callouts}
        values["day_level"] = 3 if tagged_callouts is not None else 2
        values["feeds"] = _calendar_feeds(filters)
        return render_page("tag.html", {**values, **listing}, expires=earliest(ends, now))

    return await serve(request, ("tag", filters, number), render)


# -- single events and callouts ---------------------------------------------------------------


async def _render_item(
    request: Request, session: AsyncSession, item: Event | Callout, as_url: str
) -> Rendered:
    context = ctx(request)
    site = await site_of(session, context)
    entry = (await origins(session, [item], site.host))[0]
    template = "event.html" if isinstance(item, Event) else "callout.html"
    values = {"site": site, "item": item, "entry": entry, "as_url": as_url}
    expires = earliest([item.ends_at], datetime.now(UTC))  # then it has ended / expired
    return render_page(template, values, expires=expires, headers={"Vary": "Accept"})


async def render_item(
    request: Request, session: AsyncSession, item: Event | Callout, *, as_url: str
) -> Response:
    """An event's or a callout's page (ours, or our copy of another node's).

    The caller holds ``session`` (and its connection) meanwhile, so everything
    here goes through it: asking the pool for more while every connection is
    held by a request waiting here would deadlock under load. ``item`` was read
    before the counters, so a page is made from a fresh read of it.
    """
    counters = await read_counters(await session.connection())
    model, key = type(item), item.id

    async def render() -> Rendered:
        current = as_item(await session.get(model, key, populate_existing=True))
        if current is None:  # deleted meanwhile
            raise HTTPException(404)
        return await _render_item(request, session, current, as_url)

    if counters is None:
        return respond(request, await render())
    pages = public_reads(request).pages
    kept = await pages.get((False, ("item", model.__name__, key, as_url)), counters.content, render)
    return respond(request, kept)


class _Missing(LookupError):
    """No such item: nothing to keep, the caller answers (404, or 410 for a tombstone)."""


async def item_page(
    request: Request, model: type[Event] | type[Callout], uri: str
) -> Response | None:
    """The page of one of our own items by its id, served like every other page
    (kept until something changes; no database read but the counters when kept);
    None when there is no such item, so the caller can say 404 or 410.

    ``node.web.objects`` can call this before it reads the item itself, instead
    of ``render_item`` after: that read is most of an event page's cost.
    """

    async def render(_: Counters | None) -> Rendered:
        async with ctx(request).sessions() as session:
            item = as_item(await session.scalar(select(model).where(model.uri == uri)))
            if item is None:
                raise _Missing(uri)
            return await _render_item(request, session, item, uri)

    try:
        return await serve(request, ("item", model.__name__, uri), render)
    except _Missing:
        return None


def _copy_route(model: type[Event] | type[Callout]) -> Any:
    async def endpoint(request: Request) -> Response:
        key = row_id(request.path_params["id"])
        if key is None:
            raise HTTPException(404)

        async def render(_: Counters | None) -> Rendered:
            async with ctx(request).sessions() as session:
                item = as_item(await session.get(model, key))
                if item is None:
                    raise HTTPException(404)
                if item.local:
                    return Rendered(b"", "text/plain", {"Location": item_link(item)}, 301)
                return await _render_item(request, session, item, item.uri)

        return await serve(request, ("copy", model.__tablename__, key), render)

    endpoint.__name__ = f"remote_{model.__tablename__}"
    return endpoint


routes: list[BaseRoute] = [
    Route("/", home),
    Route("/follow", follow, methods=["GET", "POST"]),
    Route("/calendar", calendar),
    Route("/callouts", callouts),
    Route("/tags/{tag:str}.ics", public_feeds.tag_ics),  # before the page, which would take it
    Route("/tags/{tag:str}", tag_page),
    Route("/calendar/events/{id:str}", _copy_route(Event)),
    Route("/calendar/callouts/{id:str}", _copy_route(Callout)),
    *public_feeds.routes,
    *federation_page.routes,
    # app.py mounts /static too; this one comes first and adds the caching policy
    static_mount(),
]
