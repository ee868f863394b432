"""The public site in the real app (node/web/public.py): the front page, event and
callout pages, the federation's calendar and callouts, tag pages and errors.
Helpers: ``tests.support.pages``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from node.content import events as ev
from node.content.lookup import find_local
from node.content.models import Callout, Event
from node.models import RemoteActor
from node.web import public
from tests.support.nodes import Node
from tests.support.pages import (
    AS2,
    HTML,
    alternates,
    cancel_event,
    day,
    followed_node,
    get_page,
    make_callout,
    make_event,
    position,
    remote_callout,
    remote_event,
    set_callout_status,
    set_profile,
    urlsplit_path,
)

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
    assert '<h1 dir="auto">Haringey Renters</h1>' in page
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
    assert '<h1 dir="auto">Vigil</h1>' in page
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
    assert "Published by" in page and "This network" not in page  # the name, or handle
    assert alternates(page)[AS2] == [event.uri]
    assert response.headers["vary"] == "Accept"
    as_json = await node.client.get(event.uri, headers={"Accept": AS2})
    assert as_json.json()["type"] == "Event"


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
    for status, shown in [("met", "<strong>ALL CLEAR"), ("cancelled", "<strong>CANCELLED")]:
        callout = await make_callout(node)
        await set_callout_status(node, callout, status)
        page = (await get_page(node, urlsplit_path(callout.uri))).text
        assert shown in page
        assert "Answer from your fediverse account" not in page


async def test_open_callout_page_has_everything_needed_to_turn_up(node: Node) -> None:
    callout = await make_callout(node, latitude="51.6", longitude="-0.1")
    page = (await get_page(node, urlsplit_path(callout.uri))).text
    assert '<h1 dir="auto">Eviction at 7am</h1>' in page
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
    origin = '<a href="https://hackney.example/">Hackney Renters</a></span>'
    assert f"{origin} (@network@hackney.example)" in page
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
    assert '<option value="127.0.0.1:8000">@network@127.0.0.1:8000 (this network)</option>' in page
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
    assert '<h1 dir="auto">Their urgent one</h1>' in copy and "Hackney Renters" in copy


async def test_tag_page_lists_tagged_events_and_callout_tag_lists_callouts(node: Node) -> None:
    await make_event(node, title="Housing clinic", tags=["housing"])
    await make_event(node, title="Film night", tags=["film"])
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    await remote_event(node, origin, "Their housing day", tags=["housing"])
    page = (await get_page(node, "/tags/housing")).text
    assert '<h1 dir="auto">#housing</h1>' in page
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
