"""Events as an iCalendar feed (RFC 5545) that calendar apps can subscribe to.

Each event's ``UID`` is its ActivityStreams id, so it stays the same across
fetches, updates and nodes. Times are written as wall time with ``TZID`` in the
event's own zone, and a ``VTIMEZONE`` for every zone used (covering only the
years the feed spans, to keep it small); all-day events are ``VALUE=DATE``.
``DTSTAMP`` is the event's last change, not the time of the request, so the
same events give the same bytes (and the same ETag). The ``icalendar`` library
does the escaping, CRLF line endings and 75-octet folding.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta

import icalendar
import nh3

from node import __version__
from node.content.calendar import Entry
from node.content.models import Event
from node.content.text import format_where, zone, zone_name

REFRESH = timedelta(hours=1)
MAX_ZONE_YEARS = 5  # VTIMEZONE rules cover at most this many years past the first event
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|blockquote|pre)\s*>|<br\s*/?>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class CalendarInfo:
    name: str  # X-WR-CALNAME and NAME: what the app calls the subscription
    description: str
    url: str  # the page the feed belongs to


def html_to_text(markup: str) -> str:
    """Readable plain text from sanitised HTML: paragraphs kept apart, tags dropped."""
    spaced = _BLOCK_END.sub(lambda m: m.group(0) + "\n", markup or "")
    text = html.unescape(nh3.clean(spaced, tags=set()))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean(text: str) -> str:
    """Text without control characters (only line breaks and tabs are kept)."""
    return _CONTROL.sub("", text or "")


def _date_span(event: Event) -> tuple[date, date]:
    """First day and the day after the last (DTEND is exclusive for dates)."""
    tz = zone(event.timezone)
    start, end = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    midnight = (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
    last = end.date() if midnight else end.date() + timedelta(days=1)
    return start.date(), max(last, start.date() + timedelta(days=1))


def _description(entry: Entry) -> str:
    event = entry.item
    assert isinstance(event, Event)
    parts = [html_to_text(event.description_html) or event.summary_text]
    if event.online_url:
        parts.append(f"Online: {event.online_url}")
    origin = entry.origin
    parts.append(f"Published by {origin.name} ({origin.handle})")
    parts.append(event.url)
    return clean("\n\n".join(part for part in parts if part))


def event_to_vevent(entry: Entry) -> icalendar.Event:
    event = entry.item
    assert isinstance(event, Event)
    vevent = icalendar.Event()
    vevent.add("uid", event.uri)
    vevent.add("dtstamp", event.updated_at.astimezone(UTC))
    vevent.add("created", event.published_at.astimezone(UTC))
    vevent.add("last-modified", event.updated_at.astimezone(UTC))
    vevent.add("summary", clean(event.title))
    if event.all_day:
        first, after_last = _date_span(event)
        vevent.add("dtstart", first)
        vevent.add("dtend", after_last)
    else:
        tz = zone(event.timezone)
        vevent.add("dtstart", event.starts_at.astimezone(tz))
        vevent.add("dtend", max(event.ends_at, event.starts_at).astimezone(tz))
    vevent.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    vevent.add("class", "PUBLIC")
    vevent.add("url", event.url)
    place = format_where(event.location_name, event.location_address, None)
    if place or event.online_url:
        vevent.add("location", clean(place or event.online_url or ""))
    if event.latitude is not None and event.longitude is not None:
        vevent.add("geo", (event.latitude, event.longitude))
    if event.tags:
        vevent.add("categories", [clean(tag) for tag in event.tags])
    vevent.add("description", _description(entry))
    return vevent


def _zone_range(events: Sequence[Event]) -> tuple[date, date]:
    """The days the VTIMEZONE rules must cover: around the feed's events, capped."""
    first = min(event.starts_at for event in events).date()
    last = max(event.ends_at for event in events).date()
    first = first - timedelta(days=1) if first > date.min else first
    cap = date(min(first.year + MAX_ZONE_YEARS, date.max.year), 12, 31)
    last = min(last + timedelta(days=1) if last < date.max else last, cap)
    return first, max(first, last)


def entries_to_ical(info: CalendarInfo, entries: Sequence[Entry]) -> bytes:
    """The whole feed: calendar properties, time zones, one VEVENT per event."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//Tocsin//Tocsin {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", clean(info.name))
    calendar.add("name", clean(info.name))
    if info.description:
        calendar.add("x-wr-caldesc", clean(info.description))
        calendar.add("description", clean(info.description))
    calendar.add("url", info.url)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(REFRESH))
    for entry in entries:
        calendar.add_component(event_to_vevent(entry))
    events = [entry.item for entry in entries if isinstance(entry.item, Event)]
    zoned = [event for event in events if not event.all_day and zone_name(event.timezone) != "UTC"]
    if zoned:
        first, last = _zone_range(zoned)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    ical: bytes = calendar.to_ical()
    return ical
