"""The public site in the real app: the front page, event and callout pages, the
federation's calendar and callouts, tag pages, errors, static assets, and HTML
that is well-formed, accessible and free of inline script and style."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from federation.hosts import url_authority
from node.content import callouts as co
from node.content import events as ev
from node.content.lookup import find_local
from node.content.models import Callout, Event
from node.identity import group_actor
from node.models import Following, LocalActor, RemoteActor
from node.web import public
from tests.support.nodes import Node

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
AS2 = "application/activity+json"
STATIC = Path(__file__).resolve().parents[2] / "node" / "static"


def day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).strftime("%Y-%m-%d")


# -- making content ---------------------------------------------------------------------------


async def make_event(node: Node, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "title": "Tenants' assembly",
        "start": f"{day(7)} 19:00",
        "end": f"{day(7)} 21:00",
        "timezone": "Europe/London",
        "location": "Community Hall",
        "address": "1 High Street",
        "tags": ["housing"],
        "description": "Bring *neighbours*.",
        **fields,
    }
    async with node.ctx.sessions() as session, session.begin():
        return await ev.create_event(node.ctx, session, ev.EventForm(**values))


async def make_callout(node: Node, **fields: Any) -> Callout:
    values: dict[str, Any] = {
        "title": "Eviction at 7am",
        "needed": "People at the door",
        "people": "20",
        "until": f"{day(3)} 09:00",
        "urgency": "urgent",
        "contact": "Signal: 07000 000000",
        "address": "5 Low Road",
        "timezone": "Europe/London",
        **fields,
    }
    async with node.ctx.sessions() as session, session.begin():
        return await co.create_callout(node.ctx, session, co.CalloutForm(**values))


async def cancel_event(node: Node, event: Event) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await ev.cancel_event(node.ctx, session, await find_local(session, Event, event.uri))


async def set_callout_status(node: Node, callout: Callout, status: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        await co.set_status(node.ctx, session, mine, status)


async def set_profile(node: Node, display_name: str, summary: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(LocalActor)
            .where(LocalActor.kind == "group")
            .values(display_name=display_name, summary=summary)
        )


async def followed_node(node: Node, host: str, name: str, username: str = "network") -> str:
    """A remote node this one follows (accepted), as the database would hold it."""
    uri = f"https://{host}/actors/{username}"
    async with node.ctx.sessions() as session, session.begin():
        actor = RemoteActor(
            uri=uri,
            domain=host,
            type="Group",
            preferred_username=username,
            name=name,
            summary="",
            url=f"https://{host}/",
            inbox=f"{uri}/inbox",
            shared_inbox=f"https://{host}/inbox",
            raw={},
        )
        session.add(actor)
        await session.flush()
        local = await group_actor(session)
        session.add(
            Following(
                local_actor_id=local.id,
                remote_actor_id=actor.id,
                follow_uri=f"https://{node.settings.host}/follows/{host}",
                state="accepted",
            )
        )
    return uri


async def remote_event(
    node: Node,
    actor_uri: str,
    title: str,
    *,
    start: datetime | None = None,
    hours: int = 2,
    tags: list[str] | None = None,
    status: str = "scheduled",
    timezone: str = "Europe/Berlin",
) -> Event:
    start = start or datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    host = url_authority(actor_uri)
    async with node.ctx.sessions() as session, session.begin():
        event = Event(
            uri=f"https://{host}/events/{abs(hash((title, start)))}",
            url=f"https://{host}/e/{abs(hash(title))}",
            local=False,
            actor_uri=actor_uri,
            origin_domain=host,
            title=title,
            description_html="<p>From afar</p>",
            summary_text="",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            timezone=timezone,
            all_day=False,
            tags=tags or [],
            status=status,
            location_name="Kiezladen",
            location_address="Hauptstr. 1",
        )
        session.add(event)
    return event


async def remote_callout(node: Node, actor_uri: str, title: str, urgency: str) -> Callout:
    host = url_authority(actor_uri)
    now = datetime.now(UTC).replace(microsecond=0)
    async with node.ctx.sessions() as session, session.begin():
        callout = Callout(
            uri=f"https://{host}/callouts/{abs(hash(title))}",
            url=f"https://{host}/callouts/{abs(hash(title))}",
            local=False,
            actor_uri=actor_uri,
            origin_domain=host,
            title=title,
            needed="Hands",
            urgency=urgency,
            starts_at=now,
            ends_at=now + timedelta(days=1),
            timezone="UTC",
            status="open",
            content_html="<p>Come</p>",
        )
        session.add(callout)
    return callout


# -- checking pages ---------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class PageChecker(HTMLParser):
    """Well-formedness and the accessibility and CSP rules every page must keep."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.label_for: list[str] = []
        self.references: list[str] = []
        self.controls: list[str | None] = []
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"inline {name} on <{tag}>")
        if "id" in attributes:
            self.ids.append(attributes["id"] or "")
        for name in ("aria-describedby", "aria-labelledby"):
            self.references.extend((attributes.get(name) or "").split())
        if tag == "label" and attributes.get("for"):
            self.label_for.append(attributes["for"] or "")
        if tag in ("input", "select", "textarea") and attributes.get("type") not in (
            "hidden",
            "submit",
        ):
            self.controls.append(attributes.get("id"))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not (attributes.get("src") or "").startswith("/static/"):
            self.problems.append("script without a same-origin src")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close <{self.stack[-1:]}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script" and data.strip():
            self.script_text += data


def check_page(html: str) -> PageChecker:
    """Parse ``html`` and assert the rules; returns the checker for further asserts."""
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    assert checker.doctype, "no <!doctype html>"
    assert not checker.problems, checker.problems
    assert not checker.stack, f"unclosed: {checker.stack}"
    assert not checker.script_text, "inline script"
    assert len(checker.ids) == len(set(checker.ids)), f"duplicate ids: {checker.ids}"
    for ref in checker.label_for + checker.references:
        assert ref in checker.ids, f"reference to a missing id {ref!r}"
    for control in checker.controls:
        assert control in checker.label_for, f"form control {control!r} has no label"
    assert checker.headings.count(1) == 1, "one <h1> per page"
    for before, after in zip(checker.headings, checker.headings[1:], strict=False):
        assert after <= before + 1, f"heading level skips from h{before} to h{after}"
    html_tags = [a for t, a in checker.tags if t == "html"]
    assert html_tags and html_tags[0].get("lang") == "en"
    assert any(
        t == "meta" and a.get("name") == "viewport" and "width=device-width" in (a["content"] or "")
        for t, a in checker.tags
    )
    assert ("main", {"id": "main", "tabindex": "-1"}) in checker.tags
    assert ("a", {"class": "skip-link", "href": "#main"}) in checker.tags
    for tag, attributes in checker.tags:
        loaded = tag in ("script", "img") or (
            tag == "link" and attributes.get("rel") == "stylesheet"
        )
        if loaded:
            source = attributes.get("src") or attributes.get("href") or ""
            assert source.startswith("/static/"), f"asset from elsewhere: {source!r}"
    return checker


def alternates(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for match in re.finditer(r'<link rel="alternate" type="([^"]+)"[^>]*href="([^"]+)"', html):
        found.setdefault(match.group(1), []).append(match.group(2))
    return found


async def get_page(node: Node, path: str, status: int = 200) -> httpx.Response:
    response = await node.client.get(path, headers=HTML)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "style-src 'self'" in response.headers["content-security-policy"]
    check_page(response.text)
    return response


def position(html: str, text: str) -> int:
    index = html.find(text)
    assert index >= 0, f"{text!r} not on the page"
    return index


# -- the front page ---------------------------------------------------------------------------


async def test_home_puts_open_callouts_first_most_urgent_first_then_events(node: Node) -> None:
    await set_profile(node, "Haringey Renters", "Renters organising in Haringey")
    await make_event(node, title="Reading group")
    await make_callout(node, title="Soon: leaflet the estate", urgency="soon")
    await make_callout(node, title="Bailiffs at dawn", urgency="urgent", until=f"{day(5)} 09:00")
    met = await make_callout(node, title="Already enough people")
    await set_callout_status(node, met, "met")
    other = await followed_node(node, "hackney.example", "Hackney Renters")
    await remote_event(node, other, "A Hackney social")

    page = (await get_page(node, "/")).text
    assert "<h1>Haringey Renters</h1>" in page
    assert "Renters organising in Haringey" in page
    assert (
        position(page, "Bailiffs at dawn")
        < position(page, "Soon: leaflet the estate")
        < position(page, "Upcoming events")
        < position(page, "Reading group")
    )
    assert "Already enough people" not in page
    assert "A Hackney social" not in page  # the front page is this network's own
    assert "20 people needed" in page


async def test_home_shows_how_to_follow_with_handle_copy_button_and_form(node: Node) -> None:
    response = await get_page(node, "/")
    page = response.text
    assert '<code id="handle" class="handle">@network@127.0.0.1:8000</code>' in page
    assert (
        'data-copy="handle" aria-label="Copy fediverse address" hidden' in page
    )  # copy.js shows it
    assert re.search(r'<script src="/static/copy\.js\?v=\w+" defer></script>', page)
    assert '<form method="post" action="/follow"' in page
    assert '<label for="follow-handle">' in page
    assert response.headers["cache-control"] == public.PAGE_CACHE
    links = alternates(page)
    assert links[AS2] == [f"{node.base_url}/actors/network"]
    assert links["text/calendar"] == ["/events.ics"]
    assert links["application/atom+xml"] == ["/events.atom", "/callouts.atom"]


async def test_home_with_nothing_planned_says_so(node: Node) -> None:
    page = (await get_page(node, "/")).text
    assert "Nothing is planned yet." in page
    assert "Open callouts" not in page


# -- event and callout pages ------------------------------------------------------------------


async def test_event_page_shows_its_own_zone_place_map_and_alternate(node: Node) -> None:
    event = await make_event(
        node,
        title="Vigil",
        start=f"{day(10)} 18:30",
        end=f"{day(10)} 20:00",
        timezone="America/New_York",
        latitude="51.5875",
        longitude="-0.1070",
        online_url="https://meet.example/vigil",
        tags=["housing", "vigil"],
    )
    response = await get_page(node, urlsplit_path(event.uri))
    page = response.text
    assert "<h1>Vigil</h1>" in page
    assert "18:30\u201320:00 (America/New_York)" in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT18:30:00-0[45]:00">', page)
    assert "Community Hall, 1 High Street" in page
    assert (
        'href="https://www.openstreetmap.org/?mlat=51.58750&amp;mlon=-0.10700#map=17/51.58750/-0.10700"'
        in page
    )
    assert 'href="https://meet.example/vigil"' in page
    assert '<a href="/tags/vigil" rel="tag">#vigil</a>' in page
    assert "<em>neighbours</em>" in page
    assert "Published by" in page and "This network" in page
    assert alternates(page)[AS2] == [event.uri]
    assert response.headers["vary"] == "Accept"
    as_json = await node.client.get(event.uri, headers={"Accept": AS2})
    assert as_json.json()["type"] == "Event"


def urlsplit_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


async def test_cancelled_and_ended_events_say_so(node: Node) -> None:
    event = await make_event(node, title="Picnic")
    await cancel_event(node, event)
    page = (await get_page(node, urlsplit_path(event.uri))).text
    assert "<strong>Cancelled.</strong>" in page
    assert "<title>Cancelled: Picnic" in page
    past = await make_event(node, title="Old meeting")
    async with node.ctx.sessions() as session, session.begin():
        long_ago = datetime.now(UTC) - timedelta(days=3)
        await session.execute(
            update(Event)
            .where(Event.id == past.id)
            .values(starts_at=long_ago, ends_at=long_ago + timedelta(hours=1))
        )
    assert "<strong>Ended.</strong>" in (await get_page(node, urlsplit_path(past.uri))).text


async def test_closed_callout_pages_show_their_state(node: Node) -> None:
    for status, shown in [("met", "<strong>Met.</strong>"), ("cancelled", "<strong>Cancelled.")]:
        callout = await make_callout(node)
        await set_callout_status(node, callout, status)
        page = (await get_page(node, urlsplit_path(callout.uri))).text
        assert shown in page
        assert "Answer from your fediverse account" not in page


async def test_open_callout_page_has_everything_needed_to_turn_up(node: Node) -> None:
    callout = await make_callout(node, latitude="51.6", longitude="-0.1")
    page = (await get_page(node, urlsplit_path(callout.uri))).text
    assert "<h1>Eviction at 7am</h1>" in page
    assert "People at the door — 20 people" in page
    assert f"{(datetime.now(UTC) + timedelta(days=3)).day} " in page
    assert "09:00 (Europe/London)" in page
    assert "5 Low Road" in page and "openstreetmap.org" in page
    assert "Signal: 07000 000000" in page
    assert "0 coming · 0 helping another way" in page
    assert f'value="{callout.uri}"' in page  # to paste into Mastodon's search
    assert alternates(page)[AS2] == [callout.uri]


async def test_expired_callout_says_so(node: Node) -> None:
    callout = await make_callout(node)
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Callout)
            .where(Callout.id == callout.id)
            .values(ends_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert "<strong>Expired.</strong>" in (await get_page(node, urlsplit_path(callout.uri))).text


async def test_remote_event_copy_names_and_links_its_origin(node: Node) -> None:
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    event = await remote_event(node, origin, "Hackney social", tags=["social"])
    page = (await get_page(node, f"/calendar/events/{event.id}")).text
    assert (
        '<a href="https://hackney.example/">Hackney Renters</a> (@network@hackney.example)' in page
    )
    assert (
        f'<a href="{event.url}" rel="noopener noreferrer">The original on hackney.example</a>'
        in page
    )
    assert alternates(page)[AS2] == [event.uri]
    assert "<p>From afar</p>" in page
    mine = await make_event(node)
    redirect = await node.client.get(f"/calendar/events/{mine.id}", headers=HTML)
    assert redirect.status_code == 301
    assert redirect.headers["location"] == urlsplit_path(mine.uri)


async def test_remote_actor_links_that_are_not_web_addresses_are_not_linked(node: Node) -> None:
    origin = await followed_node(node, "odd.example", "Odd")
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(RemoteActor).where(RemoteActor.uri == origin).values(url="javascript:alert(1)")
        )
    event = await remote_event(node, origin, "Odd event")
    page = (await get_page(node, f"/calendar/events/{event.id}")).text
    assert "javascript:" not in page
    assert "Odd" in page


# -- the federation's calendar, callouts and tags ---------------------------------------------


async def test_calendar_shows_this_and_followed_nodes_events_with_their_origin(node: Node) -> None:
    await make_event(node, title="Our assembly", start=f"{day(2)} 19:00", end=f"{day(2)} 21:00")
    hackney = await followed_node(node, "hackney.example", "Hackney Renters")
    camden = await followed_node(node, "camden.example", "Camden Mutual Aid")
    await remote_event(node, hackney, "Hackney social", tags=["social"])
    await remote_event(node, camden, "Camden food bank", tags=["food"])
    await remote_event(node, camden, "Over already", start=datetime.now(UTC) - timedelta(days=2))
    await remote_event(node, hackney, "Called off", status="cancelled")

    page = (await get_page(node, "/calendar")).text
    assert position(page, "Our assembly") < position(page, "Hackney social")
    assert "Camden food bank" in page and "Over already" not in page
    assert '<a href="https://hackney.example/">Hackney Renters</a>' in page
    assert "Cancelled</p>" in page
    assert '<option value="hackney.example">Hackney Renters (hackney.example)</option>' in page
    assert '<option value="127.0.0.1:8000">network (this network)</option>' in page
    assert alternates(page)["text/calendar"][0] == "/calendar.ics"

    only_hackney = (await get_page(node, "/calendar?node=hackney.example")).text
    assert "Hackney social" in only_hackney and "Camden food bank" not in only_hackney
    assert "Our assembly" not in only_hackney
    assert '<option value="hackney.example" selected>' in only_hackney
    ours = (await get_page(node, "/calendar?node=127.0.0.1:8000")).text
    assert "Our assembly" in ours and "Hackney social" not in ours

    food = (await get_page(node, "/calendar?tag=%23Food")).text
    assert "Camden food bank" in food and "Hackney social" not in food
    assert alternates(food)["text/calendar"][0] == "/calendar.ics?tag=food"
    nothing = (await get_page(node, "/calendar?tag=nope&node=nowhere.example")).text
    assert "No upcoming events match this filter." in nothing
    for junk in ("node=%00x", "tag=%00%01", "tag=" + "x" * 5000):
        await get_page(node, f"/calendar?{junk}")
    await get_page(node, "/tags/a%00b")


async def test_calendar_pages_through_many_events(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(public, "PAGE_SIZE", 2)
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for number in range(5):
        await remote_event(node, origin, f"Meeting {number}", start=start + timedelta(days=number))
    first = (await get_page(node, "/calendar")).text
    assert "Meeting 0" in first and "Meeting 1" in first and "Meeting 2" not in first
    assert '<a href="/calendar?page=2" rel="next">' in first and 'rel="prev"' not in first
    last = (await get_page(node, "/calendar?page=3")).text
    assert "Meeting 4" in last and "Meeting 3" not in last
    assert '<a href="/calendar?page=2" rel="prev">' in last and 'rel="next"' not in last
    for junk in ("junk", "-1", "0", "\u00b2"):
        assert "Meeting 0" in (await get_page(node, f"/calendar?page={junk}")).text
    beyond = (await get_page(node, "/calendar?page=" + "9" * 5000)).text  # capped, not an error
    assert "No upcoming events." in beyond


async def test_callouts_page_lists_open_callouts_across_the_federation(node: Node) -> None:
    await make_callout(node, title="Our soon one", urgency="soon")
    hackney = await followed_node(node, "hackney.example", "Hackney Renters")
    await remote_callout(node, hackney, "Their urgent one", "urgent")
    await remote_callout(node, hackney, "Their ongoing one", "ongoing")
    response = await get_page(node, "/callouts")
    page = response.text
    assert (
        position(page, "Their urgent one")
        < position(page, "Our soon one")
        < position(page, "Their ongoing one")
    )
    assert '<a href="https://hackney.example/">Hackney Renters</a>' in page
    assert 'aria-current="page">Callouts' in page
    remote_link = re.search(r'href="(/calendar/callouts/\d+)">Their urgent one', page)
    assert remote_link is not None
    copy = (await get_page(node, remote_link.group(1))).text
    assert "<h1>Their urgent one</h1>" in copy and "Hackney Renters" in copy


async def test_tag_page_lists_tagged_events_and_callout_tag_lists_callouts(node: Node) -> None:
    await make_event(node, title="Housing clinic", tags=["housing"])
    await make_event(node, title="Film night", tags=["film"])
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    await remote_event(node, origin, "Their housing day", tags=["housing"])
    page = (await get_page(node, "/tags/housing")).text
    assert "<h1>#housing</h1>" in page
    assert "Housing clinic" in page and "Their housing day" in page and "Film night" not in page
    assert alternates(page)["text/calendar"][0] == "/calendar.ics?tag=housing"
    await make_callout(node, title="Eviction")
    callouts = (await get_page(node, "/tags/callout")).text
    assert "Eviction" in callouts and "Open callouts" in callouts


# -- errors -----------------------------------------------------------------------------------


async def test_unknown_ids_get_a_404_page(node: Node) -> None:
    for path in (
        "/events/999",
        "/callouts/999",
        "/calendar/events/999",
        "/calendar/callouts/999",
        "/calendar/events/99999999999999999999999",
        "/calendar/events/" + "9" * 5000,
        "/events/" + "9" * 5000,
        "/callouts/\u00b2",
        "/nowhere",
    ):
        page = (await get_page(node, path, status=404)).text
        assert "<h1>Not found</h1>" in page


async def test_deleted_event_gets_a_410_page(node: Node) -> None:
    event = await make_event(node)
    async with node.ctx.sessions() as session, session.begin():
        await ev.delete_event(node.ctx, session, await find_local(session, Event, event.uri))
    page = (await get_page(node, urlsplit_path(event.uri), status=410)).text
    assert "<h1>Deleted</h1>" in page


# -- every page -------------------------------------------------------------------------------


async def test_every_public_page_is_well_formed_without_inline_script_or_style(
    node: Node,
) -> None:
    event = await make_event(
        node, title='<script>alert("x")</script> & co', description="<b onclick=x>hi</b>"
    )
    callout = await make_callout(node, title="Bring <i>tea</i>")
    origin = await followed_node(node, "hackney.example", "Hackney <Renters>")
    other = await remote_event(node, origin, "Theirs", tags=["a"])
    paths = [
        "/",
        "/follow",
        "/calendar",
        "/calendar?tag=housing&node=127.0.0.1:8000",
        "/callouts",
        "/tags/housing",
        "/tags/callout",
        urlsplit_path(event.uri),
        urlsplit_path(callout.uri),
        f"/calendar/events/{other.id}",
        "/actors/network",
    ]
    for path in paths:
        page = (await get_page(node, path)).text
        assert "<script>alert" not in page
        assert "<b onclick" not in page
    page = (await get_page(node, urlsplit_path(event.uri))).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page


async def test_static_assets_are_cached_for_a_year_when_versioned(node: Node) -> None:
    home = (await get_page(node, "/")).text
    css = re.search(r'href="(/static/site\.css\?v=\w+)"', home)
    assert css is not None
    response = await node.client.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "etag" in response.headers
    plain = await node.client.get("/static/copy.js")
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "public, max-age=3600"
    assert "navigator.clipboard" in plain.text
    assert (await node.client.get("/static/nothing.css")).status_code == 404


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_stylesheet_colour_pairs_meet_wcag_aa_contrast() -> None:
    css = (STATIC / "site.css").read_text()
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    pairs = [
        ("fg", "bg"),
        ("accent", "bg"),
        ("muted", "bg"),
        ("on-accent", "accent"),
        ("warn-fg", "warn-bg"),
        ("error", "bg"),
        ("ok", "bg"),
        ("fg", "panel"),
        ("muted", "panel"),
        ("accent", "panel"),
        ("on-accent", "error"),
    ]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert contrast(colours["focus"], colours["bg"]) >= 3  # non-text contrast
    assert len(css.encode()) < 12_000  # small enough for a cheap phone (~3 kB gzipped)
    assert "@import" not in css and "url(" not in css  # nothing loaded from elsewhere
