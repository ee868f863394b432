"""The Jinja environment every HTML page uses, and the static assets it links.

Filters turn events and callouts into text people read: times in the object's
own zone, places, map links, states. Static files are linked with a content
hash (``/static/site.css?v=…``), so they can be cached for a year and still
change the moment the file does.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from node import i18n
from node.ap.events import iso_in_zone
from node.content.models import Callout, Event
from node.content.text import (
    format_moment,
    format_when,
    format_where,
    long_date,
    osm_url,
    urgency_word,
)
from node.content.text import people as people_text
from node.content.text import zone as zone_of

STATIC_DIR = Path(__file__).parent.parent / "static"
TEMPLATE_DIR = Path(__file__).parent.parent / "templates"
VERSIONED_CACHE = "public, max-age=31536000, immutable"
UNVERSIONED_CACHE = "public, max-age=3600"


@cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``: cacheable for a year, busted when the file changes."""
    return f"/static/{name}?v={_digest(name)}"


class StaticAssets(StaticFiles):
    """Static files with a caching policy: a year when the URL carries a version."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["Cache-Control"] = VERSIONED_CACHE if versioned else UNVERSIONED_CACHE
        return response


def static_mount() -> Mount:
    return Mount("/static", StaticAssets(directory=STATIC_DIR), name="static")


# -- filters ------------------------------------------------------------------------------


def http_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None: never link anything else."""
    if not isinstance(url, str) or any(c.isspace() or ord(c) < 32 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def when(item: Event | Callout) -> str:
    """An event's span, or a callout's deadline, in the object's own zone."""
    if isinstance(item, Event):
        return format_when(item.starts_at, item.ends_at, item.timezone, item.all_day)
    return i18n.gettext("until %(moment)s", moment=format_moment(item.ends_at, item.timezone))


def moment(value: datetime, tz: str) -> str:
    return format_moment(value, tz)


def where(item: Event | Callout) -> str:
    """The place as text (the online link is shown on its own)."""
    return format_where(item.location_name, item.location_address, None)


def map_url(item: Event | Callout) -> str | None:
    if item.latitude is None or item.longitude is None:
        return None
    return osm_url(item.latitude, item.longitude)


def machine_time(value: datetime, tz: str = "UTC", all_day: bool = False) -> str:
    """For ``<time datetime>``: the instant with its zone's offset, or a date."""
    if all_day:
        return value.astimezone(zone_of(tz)).date().isoformat()
    return iso_in_zone(value, tz)


def day_heading(day: date) -> str:
    """``Tuesday 3 February 2026``, in the current language."""
    return long_date(datetime(day.year, day.month, day.day))


def local_day(item: Event | Callout) -> date:
    return item.starts_at.astimezone(zone_of(item.timezone)).date()


def event_state(event: Event, now: datetime) -> str | None:
    """``cancelled``, ``ended`` or None."""
    if event.status == "cancelled":
        return "cancelled"
    if event.ends_at < now:
        return "ended"
    return None


def callout_state(callout: Callout, now: datetime) -> str | None:
    """``met``, ``cancelled``, ``expired`` or None while it is open."""
    if callout.status in ("met", "cancelled"):
        return callout.status
    if callout.ends_at <= now:
        return "expired"
    return None


def urgency_label(urgency: str) -> str:
    return urgency_word(urgency).capitalize()


def item_link(item: Event | Callout) -> str:
    """Our own objects at their ids; others at this node's copy of them."""
    if item.local:
        return urlsplit(item.url).path or "/"
    kind = "events" if isinstance(item, Event) else "callouts"
    return f"/calendar/{kind}/{item.id}"


def people(count: int) -> str:
    return people_text(count)


def make_templates() -> Jinja2Templates:
    made = Jinja2Templates(directory=str(TEMPLATE_DIR))
    made.env.add_extension("jinja2.ext.i18n")
    # ``{{ _("…") }}`` and ``{% trans %}`` look up the current language (node/i18n.py);
    # new-style: placeholders are ``%(name)s`` keyword arguments, escaped like any output.
    made.env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True, pgettext=i18n.raw_pgettext
    )
    made.env.globals["static_url"] = static_url
    made.env.globals["current_language"] = i18n.current_language
    made.env.globals["languages"] = i18n.LANGUAGES
    made.env.filters.update(
        {
            "http_url": http_url,
            "when": when,
            "moment": moment,
            "where": where,
            "map_url": map_url,
            "machine_time": machine_time,
            "day_heading": day_heading,
            "event_state": event_state,
            "callout_state": callout_state,
            "urgency_label": urgency_label,
            "item_link": item_link,
            "people": people,
        }
    )
    return made
