"""Human text for events and callouts, for people reading them in Mastodon.

Mastodon shows an ``Event`` only as its name, its ``summary`` and a link
(docs/events.md, "Mastodon"), and shows a ``Question`` as its ``content`` plus
the poll. So the summary must carry when and where, and a callout's content
must carry everything a reader needs to turn up or help: the structured fields
beside it are for software, the text is for people.

Times are written in the object's own IANA zone, with the zone named, in one
fixed form per language (Babel's names of days and months for the current
language, ``node.i18n``: what federates is written in the node's default
language). Every value from the database is HTML-escaped where HTML is produced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from babel.dates import format_datetime

from node.content.models import Callout, Event
from node.i18n import current_language, ngettext
from node.i18n import gettext as _

DASH = "\u2013"  # en dash, between the ends of a span
# CLDR patterns (Babel): a short date, and a day's heading; English as it always was
SHORT_DATE = "EEE d MMM y"  # Tue 3 Feb 2026, Maw 3 Chwef 2026, dom 3 feb 2026
LONG_DATE = {"es": "EEEE, d 'de' MMMM 'de' y"}  # where a language's heading differs
DEFAULT_LONG_DATE = "EEEE d MMMM y"  # Tuesday 3 February 2026, Dydd Mawrth 3 Chwefror 2026


def urgency_word(urgency: str) -> str:
    """``URGENT``, ``Soon``, ``Ongoing`` in the current language (unknown: as given)."""
    words = {"urgent": _("URGENT"), "soon": _("Soon"), "ongoing": _("Ongoing")}
    return words.get(urgency, urgency.capitalize())


def state_line(status: str) -> str | None:
    """The line a callout's content opens with when it is not simply open."""
    lines = {
        "unverified": _("UNVERIFIED — being checked: get ready, do not go yet"),
        "enough": _("ENOUGH PEOPLE — stand down unless you were confirmed"),
        "met": _("ALL CLEAR — thank you"),
        "false-alarm": _("FALSE ALARM — do not go"),
        "cancelled": _("CANCELLED — do not go"),
    }
    return lines.get(status)


def poll_line() -> str:
    return _(
        "Answer the poll to say you can come or can help another way. "
        "Only the organisers see who answered."
    )


def people(count: int) -> str:
    """``1 person``, ``3 people``: in the current language's plural forms."""
    return ngettext("%(num)d person", "%(num)d people", count)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_iana_zone(name: object) -> bool:
    """True for a zone name in the IANA database (checked against the list, not the disk)."""
    return isinstance(name, str) and name in _known_zones()


def zone(name: str) -> ZoneInfo:
    """The named zone, or UTC when the name is not an IANA zone."""
    return ZoneInfo(name if is_iana_zone(name) else "UTC")


def zone_name(name: str) -> str:
    """``name`` when it is an IANA zone, else ``"UTC"``: the zone text is written in."""
    return name if is_iana_zone(name) else "UTC"


def _date(moment: datetime) -> str:
    language = current_language()
    return format_datetime(moment, SHORT_DATE, locale=language)


def long_date(moment: datetime) -> str:
    """A day as a heading: ``Tuesday 3 February 2026`` in the current language."""
    language = current_language()
    return format_datetime(moment, LONG_DATE.get(language, DEFAULT_LONG_DATE), locale=language)


def _time(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def format_moment(moment: datetime, tz: str) -> str:
    """One instant in zone ``tz``: ``Tue 3 Feb 2026, 19:00 (Europe/London)``."""
    local = moment.astimezone(zone(tz))
    return f"{_date(local)}, {_time(local)} ({zone_name(tz)})"


def _last_day(start: datetime, end: datetime) -> datetime:
    """The last day an all-day span covers; an end at midnight is exclusive."""
    if end > start and (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0):
        return end - timedelta(microseconds=1)
    return max(start, end)


def _all_day(start: datetime, end: datetime) -> str:
    last = _last_day(start, end)
    if last.date() == start.date():
        return _("%(day)s, all day", day=_date(start))
    span = f"{_date(start)} {DASH} {_date(last)}"
    return _("%(day)s, all day", day=span)


def format_when(starts_at: datetime, ends_at: datetime, tz: str, all_day: bool) -> str:
    """When, in the zone ``tz``, in one of four fixed forms.

    ``Tue 3 Feb 2026, 19:00-21:00 (Europe/London)``;
    ``Fri 6 Feb 2026, 22:00 - Sat 7 Feb 2026, 02:00 (Europe/London)``;
    ``Tue 3 Feb 2026, all day``; ``Tue 3 Feb 2026 - Thu 5 Feb 2026, all day``
    (each ``-`` is an en dash). An end not after the start is left out.
    """
    local_zone = zone(tz)
    start, end = starts_at.astimezone(local_zone), ends_at.astimezone(local_zone)
    if all_day:
        return _all_day(start, end)
    label = f"({zone_name(tz)})"
    if end <= start:
        return f"{_date(start)}, {_time(start)} {label}"
    if end.date() == start.date():
        return f"{_date(start)}, {_time(start)}{DASH}{_time(end)} {label}"
    return f"{_date(start)}, {_time(start)} {DASH} {_date(end)}, {_time(end)} {label}"


def _place(name: str, address: str) -> str:
    """Name and address without saying the same thing twice (Gancio names places by street)."""
    name, address = name.strip(), address.strip()
    if not address or address == name:
        return name
    if not name or address.startswith(name):
        return address
    return f"{name}, {address}"


def format_where(name: str, address: str, online_url: str | None) -> str:
    """Where, as plain text: ``Town Hall, 1 High St``, ``online: URL``, or both; '' if neither."""
    place = _place(name or "", address or "")
    link = (online_url or "").strip()
    online = _("online: %(link)s", link=link) if link else ""
    return "; ".join(part for part in (place, online) if part)


def event_summary(event: Event) -> str:
    """Plain text ``when · where``, ``CANCELLED: ``-prefixed when cancelled."""
    when = format_when(event.starts_at, event.ends_at, event.timezone, event.all_day)
    where = format_where(event.location_name, event.location_address, event.online_url)
    text = " · ".join(part for part in (when, where) if part)
    return _("CANCELLED: %(text)s", text=text) if event.status == "cancelled" else text


def callout_state(callout: Callout, now: datetime) -> str | None:
    """The line shown when a callout is no longer open, else None."""
    line = state_line(callout.status)
    if line:
        return line
    if callout.ends_at <= now:
        return _("closed")
    return None


def osm_url(latitude: float, longitude: float) -> str:
    """A plain OpenStreetMap link with a marker: no tiles or scripts are embedded."""
    lat, lon = f"{latitude:.5f}", f"{longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) and not any(c.isspace() for c in url)


def _link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}">{escape(text)}</a>'


def _place_html(callout: Callout) -> str:
    """The public place: the exact address, when private, is never in it (only the area)."""
    place = _place(callout.location_name or "", callout.location_address or "")
    area = callout.area or ""
    if area and area not in place:
        place = f"{place}, {area}" if place else area
    place = escape(place)
    if callout.latitude is None or callout.longitude is None:
        return place
    map_link = _link(osm_url(callout.latitude, callout.longitude), _("map"))
    return f"{place} ({map_link})" if place else map_link


def _online_html(callout: Callout) -> str:
    online = (callout.online_url or "").strip()
    if not online:
        return ""
    link = _link(online, online) if _is_web_url(online) else escape(online)
    return _("Online: %(link)s", link=link)


def _where_html(callout: Callout) -> str:
    return "<br>".join(part for part in (_place_html(callout), _online_html(callout)) if part)


def _needed_html(callout: Callout) -> str:
    text = _("Needed: %(needed)s", needed=escape(callout.needed))
    if callout.people_needed:
        text += " — " + _("%(people)s needed", people=people(callout.people_needed))
    return text


def _paragraph(text: str) -> str:
    return f"<p>{text}</p>" if text else ""


def callout_content_html(
    callout: Callout, *, base: str | None = None, now: datetime | None = None
) -> str:
    """The callout as HTML a reader can act on without opening anything else.

    ``base`` is the node's origin for the ``#callout`` hashtag link (default: the
    origin of ``callout.url``); ``now`` decides whether an open callout has expired.
    """
    now = now or datetime.now(UTC)
    base = base or _origin(callout.url)
    label = urgency_word(callout.urgency)
    state = callout_state(callout, now)
    tz = callout.timezone
    paragraphs = [
        _paragraph(f"<strong>{escape(state)}</strong>") if state else "",
        _paragraph(f"<strong>{escape(label)}</strong>: {escape(callout.title)}"),
        _paragraph(_needed_html(callout)),
        _paragraph(_("Where: %(place)s", place=where) if (where := _where_html(callout)) else ""),
        _paragraph(
            _("From: %(start)s", start=escape(format_moment(callout.starts_at, tz)))
            + "<br>"
            + _("Until: %(end)s", end=escape(format_moment(callout.ends_at, tz)))
        ),
        _paragraph(_("Contact: %(who)s", who=escape(callout.contact)) if callout.contact else ""),
        _paragraph(escape(poll_line())) if _takes_answers(callout, now) else "",
        _paragraph(_hashtag_html(base, "callout")),
    ]
    return "".join(paragraphs)


def _hashtag_html(base: str, tag: str) -> str:
    href = escape(f"{base}/tags/{tag}")
    return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{escape(tag)}</span></a>'


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _takes_answers(callout: Callout, now: datetime) -> bool:
    return callout.status in ("unverified", "open", "enough") and callout.ends_at > now
