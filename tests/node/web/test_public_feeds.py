"""The iCalendar and Atom feeds, fetched from the real app and read back with
``icalendar`` and ``feedparser``: stable UIDs, time zones, cancelled status,
valid XML, and caching headers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import feedparser  # type: ignore[import-untyped]
import icalendar
from sqlalchemy import update

from node.content.models import Event
from node.feeds.atom import xml_text
from node.feeds.ical import html_to_text
from tests.support.nodes import Node
from tests.support.pages import (
    HTML,
    alternates,
    cancel_event,
    day,
    followed_node,
    make_callout,
    make_event,
    remote_event,
    set_callout_status,
    set_profile,
)


def parse_ics(body: bytes) -> icalendar.Calendar:
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "every line ends with CRLF"
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, f"unfolded line: {line!r}"
    return icalendar.Calendar.from_ical(body)


def vevents(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


async def test_events_ics_parses_with_stable_uids_zones_and_cancelled_status(node: Node) -> None:
    await set_profile(node, "Haringey Renters", "Renters organising")
    zoned = await make_event(
        node,
        title="Assembly, with; punctuation",
        latitude="51.5875",
        longitude="-0.107",
        tags=["housing", "assembly"],
        online_url="https://meet.example/room",
    )
    cancelled = await make_event(node, title="Picnic", timezone="America/New_York")
    await cancel_event(node, cancelled)
    whole_days = await make_event(
        node, title="Festival", all_day=True, start=day(20), end=day(21), timezone="Europe/Paris"
    )
    in_utc = await make_event(node, title="Call", timezone="UTC")

    first = await node.client.get("/events.ics")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/calendar; charset=utf-8"
    assert first.headers["cache-control"].startswith("public, max-age=")
    second = await node.client.get("/events.ics")
    assert first.content == second.content  # same events, same bytes: DTSTAMP is the last change
    calendar = parse_ics(first.content)
    assert str(calendar["X-WR-CALNAME"]) == "Haringey Renters"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in first.content
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in first.content
    events = vevents(calendar)
    assert set(events) == {zoned.uri, cancelled.uri, whole_days.uri, in_utc.uri}
    assert set(events) == set(vevents(parse_ics(second.content)))

    assembly = events[zoned.uri]
    assert str(assembly["SUMMARY"]) == "Assembly, with; punctuation"
    assert assembly["DTSTART"].params["TZID"] == "Europe/London"
    assert assembly["DTSTART"].dt.hour == 19
    assert assembly["DTEND"].dt.hour == 21
    assert str(assembly["STATUS"]) == "CONFIRMED"
    assert str(assembly["LOCATION"]) == "Community Hall, 1 High Street"
    assert (assembly["GEO"].latitude, assembly["GEO"].longitude) == (51.5875, -0.107)
    assert str(assembly["URL"]) == zoned.uri
    assert [str(c) for c in assembly["CATEGORIES"].cats] == ["housing", "assembly"]
    description = str(assembly["DESCRIPTION"])
    assert "Bring neighbours." in description and "<" not in description
    assert "Online: https://meet.example/room" in description
    assert "Published by Haringey Renters" in description

    picnic = events[cancelled.uri]
    assert str(picnic["STATUS"]) == "CANCELLED"
    assert picnic["DTSTART"].params["TZID"] == "America/New_York"
    festival = events[whole_days.uri]
    assert festival["DTSTART"].params.get("VALUE") == "DATE"
    assert festival["DTSTART"].dt == date.fromisoformat(day(20))
    assert festival["DTEND"].dt == date.fromisoformat(day(22))  # exclusive end
    call = events[in_utc.uri]
    assert call["DTSTART"].dt.tzinfo is not None and "TZID" not in call["DTSTART"].params
    assert b"DTSTART:" in first.content and b"Z\r\n" in first.content

    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert zones == {"Europe/London", "America/New_York"}


async def test_ics_answers_304_to_a_matching_etag(node: Node) -> None:
    await make_event(node)
    first = await node.client.get("/events.ics")
    etag = first.headers["etag"]
    assert first.headers["last-modified"].endswith("GMT")
    again = await node.client.get("/events.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    await make_event(node, title="Another")
    changed = await node.client.get("/events.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


async def test_events_ics_keeps_recent_past_events_and_only_this_nodes(node: Node) -> None:
    past = await make_event(node, title="Last week")
    async with node.ctx.sessions() as session, session.begin():
        moment = datetime.now(UTC) - timedelta(days=7)
        await session.execute(
            update(Event)
            .where(Event.id == past.id)
            .values(starts_at=moment, ends_at=moment + timedelta(hours=2))
        )
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    theirs = await remote_event(node, origin, "Hackney social")
    uids = set(vevents(parse_ics((await node.client.get("/events.ics")).content)))
    assert past.uri in uids and theirs.uri not in uids


async def test_calendar_ics_has_the_federation_and_follows_the_filters(node: Node) -> None:
    ours = await make_event(node, title="Ours", tags=["housing"])
    origin = await followed_node(node, "hackney.example", "Hackney Renters")
    theirs = await remote_event(node, origin, "Theirs", tags=["social"])
    response = await node.client.get("/calendar.ics")
    calendar = parse_ics(response.content)
    events = vevents(calendar)
    assert set(events) == {ours.uri, theirs.uri}
    assert "federation calendar" in str(calendar["X-WR-CALNAME"])
    assert events[theirs.uri]["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert "Published by Hackney Renters (@network@hackney.example)" in str(
        events[theirs.uri]["DESCRIPTION"]
    )
    by_node = parse_ics((await node.client.get("/calendar.ics?node=hackney.example")).content)
    assert set(vevents(by_node)) == {theirs.uri}
    by_tag = parse_ics((await node.client.get("/calendar.ics?tag=housing")).content)
    assert set(vevents(by_tag)) == {ours.uri}


async def test_empty_feeds_are_still_valid(node: Node) -> None:
    calendar = parse_ics((await node.client.get("/events.ics")).content)
    assert vevents(calendar) == {}
    for path in ("/events.atom", "/callouts.atom"):
        feed = feedparser.parse((await node.client.get(path)).content)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.entries == []


async def test_events_atom_parses_without_errors(node: Node) -> None:
    await set_profile(node, "Haringey Renters", "Renters organising")
    first = await make_event(node, title="Assembly & <friends>", tags=["housing"])
    second = await make_event(node, title="Picnic\x01 in the park")
    await cancel_event(node, second)
    response = await node.client.get("/events.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["etag"]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Haringey Renters: events"
    assert feed.feed.id == f"{node.base_url}/events.atom"
    assert [e.id for e in feed.entries] == [second.uri, first.uri]  # latest change first
    picnic, assembly = feed.entries
    assert picnic.title == "Cancelled: Picnic in the park"
    assert assembly.title == "Assembly & <friends>"
    assert assembly.link == first.uri
    assert [t.term for t in assembly.tags] == ["housing"]
    assert "<em>neighbours</em>" in assembly.content[0].value
    assert "19:00" in assembly.summary
    assert assembly.author == "Haringey Renters"
    assert assembly.updated_parsed and assembly.published_parsed


async def test_callouts_atom_parses_and_shows_each_callouts_state(node: Node) -> None:
    urgent = await make_callout(node, title="Bailiffs at dawn")
    met = await make_callout(node, title="Leafleting", urgency="soon")
    await set_callout_status(node, met, "met")
    feed = feedparser.parse((await node.client.get("/callouts.atom")).content)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = {e.id: e.title for e in feed.entries}
    assert titles == {urgent.uri: "URGENT: Bailiffs at dawn", met.uri: "Met: Leafleting"}
    entry = next(e for e in feed.entries if e.id == urgent.uri)
    assert "People at the door" in entry.content[0].value
    assert entry.summary == "Needed: People at the door"


async def test_pages_advertise_the_feeds(node: Node) -> None:
    callout = await make_callout(node)
    for path in ("/", "/callouts", "/calendar", callout.uri.split("8000", 1)[1]):
        links = alternates((await node.client.get(path, headers=HTML)).text)
        assert "/events.ics" in links["text/calendar"]
        assert links["application/atom+xml"] == ["/events.atom", "/callouts.atom"]


def test_html_to_text_keeps_paragraphs_and_drops_markup() -> None:
    text = html_to_text("<p>One &amp; <b>two</b></p><p>Three<br>four</p><script>x()</script>")
    assert text == "One & two\nThree\nfour"
    assert html_to_text("") == ""


def test_xml_text_drops_characters_xml_cannot_carry() -> None:
    assert xml_text("a\x00b\x1fc\ufffed\ud800e\tf\ng") == "abcde\tf\ng"
    assert re.fullmatch(r"[^\x00-\x08]*", xml_text("\x08ok"))
