"""Events as an iCalendar feed (RFC 5545) that calendar apps can subscribe to,
and a single event or callout as a one-entry calendar ("add to calendar").

Each event's ``UID`` is its ActivityStreams id, so it stays the same across
fetches, updates and nodes. Times are written as wall time with ``TZID`` in the
event's own zone, and a ``VTIMEZONE`` for every zone used (covering only the
years the feed spans, to keep it small); all-day events are ``VALUE=DATE``.
``DTSTAMP`` is the event's last change, not the time of the request, so the
same events give the same bytes (and the same ETag). The ``icalendar`` library
does the escaping, CRLF line endings and 75-octet folding. A description is plain
text, so a link in it keeps its address: ``[text](url)`` reads ``text (url)``.
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
from node.content.models import Callout, Event
from node.content.text import format_where, people, zone, zone_name
from node.i18n import gettext as _

REFRESH = timedelta(hours=1)
MAX_ZONE_YEARS = 5  # VTIMEZONE rules cover at most this many years past the first event
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|blockquote|pre)\s*>|<br\s*/?>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# a link of sanitised HTML (nh3 quotes every attribute with "): its address and its text
_LINK = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*>(.*?)</a\s*>', re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class CalendarInfo:
    name: str  # X-WR-CALNAME and NAME: what the app calls the subscription
    description: str
    url: str  # the page the feed belongs to


def _link_to_text(found: re.Match[str]) -> str:
    href, text = html.unescape(found.group(1)), found.group(2)
    shown = html.unescape(nh3.clean(text, tags=set())).strip()
    if not href.startswith(("https://", "http://", "mailto:")) or shown == href:
        return text
    return f"{text} ({html.escape(href)})"


def html_to_text(markup: str) -> str:
    """Readable plain text from sanitised HTML: paragraphs kept apart, tags dropped,
    each link's address kept after its text."""
    linked = _LINK.sub(_link_to_text, markup or "")
    spaced = _BLOCK_END.sub(lambda m: m.group(0) + "\n", linked)
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
        parts.append(_("Online: %(link)s", link=event.online_url))
    origin = entry.origin
    parts.append(
        _("Published by %(network)s (%(handle)s)", network=origin.name, handle=origin.handle)
    )
    parts.append(event.url)
    return clean("\n\n".join(part for part in parts if part))


def _callout_description(entry: Entry) -> str:
    callout = entry.item
    assert isinstance(callout, Callout)
    needed = callout.needed
    if callout.people_needed:
        needed += f" ({people(callout.people_needed)})"
    parts = [
        _("Needed: %(needed)s", needed=needed),
        "" if callout.local else html_to_text(callout.content_html),
    ]
    if callout.contact:
        parts.append(_("Contact: %(who)s", who=callout.contact))
    if callout.online_url:
        parts.append(_("Online: %(link)s", link=callout.online_url))
    origin = entry.origin
    parts.append(
        _("Published by %(network)s (%(handle)s)", network=origin.name, handle=origin.handle)
    )
    parts.append(callout.url)
    return clean("\n\n".join(part for part in parts if part))


def callout_to_vevent(entry: Entry) -> icalendar.Event:
    """A callout as the time it runs: from its start until it is needed by."""
    callout = entry.item
    assert isinstance(callout, Callout)
    vevent = icalendar.Event()
    vevent.add("uid", callout.uri)
    vevent.add("dtstamp", callout.updated_at.astimezone(UTC))
    vevent.add("created", callout.published_at.astimezone(UTC))
    vevent.add("last-modified", callout.updated_at.astimezone(UTC))
    vevent.add("summary", clean(callout.title))
    tz = zone(callout.timezone)
    vevent.add("dtstart", callout.starts_at.astimezone(tz))
    vevent.add("dtend", max(callout.ends_at, callout.starts_at).astimezone(tz))
    vevent.add("status", "CANCELLED" if callout.status == "cancelled" else "CONFIRMED")
    vevent.add("class", "PUBLIC")
    vevent.add("url", callout.url)
    place = format_where(callout.location_name, callout.location_address, None)
    if place or callout.online_url:
        vevent.add("location", clean(place or callout.online_url or ""))
    if callout.latitude is not None and callout.longitude is not None:
        vevent.add("geo", (callout.latitude, callout.longitude))
    vevent.add("categories", ["callout"])
    vevent.add("description", _callout_description(entry))
    return vevent


def entry_to_vevent(entry: Entry) -> icalendar.Event:
    if isinstance(entry.item, Callout):
        return callout_to_vevent(entry)
    return event_to_vevent(entry)


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


def _zone_range(events: Sequence[Event | Callout]) -> tuple[date, date]:
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
        calendar.add_component(entry_to_vevent(entry))
    zoned = [
        entry.item
        for entry in entries
        if not getattr(entry.item, "all_day", False) and zone_name(entry.item.timezone) != "UTC"
    ]
    if zoned:
        first, last = _zone_range(zoned)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    ical: bytes = calendar.to_ical()
    return ical
