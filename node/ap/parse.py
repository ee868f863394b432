"""Reading what other servers send: the typed readers, the shared columns, the place.

Lenient in what it accepts (Mobilizon's PostalAddress and ``mz:`` terms,
Gancio's text address and Link attachment, Mastodon-like Events with no
location, FEP-8a8e and iCalendar status), strict in what it keeps: every
string is typed, trimmed and capped, HTML is sanitised, coordinates are
range-checked, zones must be IANA names. Junk of the wrong JSON type is
treated as absent, never as a crash; only a missing or unusable ``id``,
``name`` or start time, or a link too long for its column (``inReplyTo``),
raises ``MalformedError`` (its message names the field and never echoes the
value). Every string that ends in a bounded column is checked or capped here,
so SQLite and PostgreSQL (whose ``varchar`` refuses what SQLite would keep)
store the same thing or refuse the same thing.

Events (:mod:`node.ap.remote_events`) and callouts
(:mod:`node.ap.remote_callouts`) are read with these same readers, so both
hold to one set of rules and share the columns every federated row has
(``uri``, ``url``, ``actor_uri``, ``origin_domain``, ``raw``, times) and the
location. ``raw`` keeps the original document. ``actor_uri`` and
``origin_domain`` are what the document claims; callers set them from the
verified activity.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from federation.as2 import MAX_AUTHORITY_LENGTH, as_list, first_str, id_of
from federation.errors import MalformedError
from federation.hosts import url_authority
from node.content.text import is_iana_zone, zone
from node.sanitize import html_to_text, sanitize_html

MAX_TITLE = 300
MAX_HTML_INPUT = 100_000
MAX_LINE = 300
MAX_ADDRESS = 500
MAX_URL = 2_048
_TIME_TEXT = 64
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # far from datetime.max, so arithmetic is safe
_ADDRESS_PARTS = (
    ("streetAddress",),
    ("postalCode", "addressLocality"),
    ("addressRegion",),
    ("addressCountry",),
)
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# -- small typed readers -------------------------------------------------------------


def _char(c: str) -> str:
    """Control, surrogate and bidi-override characters dropped; odd spaces made plain."""
    if c in "\n\t":
        return c
    category = unicodedata.category(c)
    if category in {"Cc", "Cs"} or c in _BIDI_CONTROLS:
        return ""
    return " " if category in {"Zs", "Zl", "Zp"} else c


def clean_text(value: Any, limit: int) -> str:
    """A trimmed, cleaned string capped at ``limit``; '' for anything that is not a string."""
    if not isinstance(value, str):
        return ""
    return "".join(_char(c) for c in value[: limit * 2]).strip()[:limit]


def localized(doc: dict[str, Any], key: str) -> Any:
    """``key``, else the first value of ``keyMap`` (AS2's language maps)."""
    value = doc.get(key)
    if value is None and isinstance(doc.get(f"{key}Map"), dict):
        value = next((v for v in doc[f"{key}Map"].values() if isinstance(v, str)), None)
    return first_str(value) if isinstance(value, list) else value


def plain_text(value: Any, limit: int) -> str:
    """Text from something that may hold HTML, capped."""
    if not isinstance(value, str):
        return ""
    return clean_text(html_to_text(value[:MAX_HTML_INPUT]), limit)


def safe_html(value: Any) -> str:
    """Sanitised HTML from a string (capped before sanitising); '' for anything else."""
    return sanitize_html(value[:MAX_HTML_INPUT]) if isinstance(value, str) else ""


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL:
        return None
    if any(c.isspace() or not c.isprintable() for c in value):
        return None
    try:
        scheme = urlsplit(value).scheme.lower()
    except ValueError:
        return None
    fits = 0 < len(url_authority(value)) <= MAX_AUTHORITY_LENGTH
    return value if scheme in {"http", "https"} and fits else None


def bounded_int(value: Any, low: int, high: int) -> int | None:
    """An int (or a string of digits) within [low, high]; None otherwise, booleans too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
    return value if isinstance(value, int) and low <= value <= high else None


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value[:32] if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def utc_time(value: Any, tz: str) -> datetime | None:
    """An aware UTC datetime from ISO 8601; a time without offset is read in ``tz``."""
    text = first_str(value)
    if text is None or len(text) > _TIME_TEXT:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment if _EARLIEST <= moment <= _LATEST else None


def types_of(doc: dict[str, Any]) -> set[str]:
    """The ``type`` names, with any ``as:`` prefix dropped."""
    return {t.removeprefix("as:") for t in as_list(doc.get("type")) if isinstance(t, str)}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The embedded objects in a one-or-many value; ids and junk are skipped."""
    return [item for item in as_list(value) if isinstance(item, dict)]


# -- shared fields ------------------------------------------------------------------


def _object_id(doc: dict[str, Any]) -> str:
    found = _http_url(doc.get("id"))
    if found is None:
        raise MalformedError("id is missing or not an http(s) URL")
    return found


def _linked_id(doc: dict[str, Any], key: str) -> str | None:
    """The id ``key`` links to (a string or an embedded object's ``id``); None when
    absent; ``MalformedError`` when it is no http(s) URL that fits a column."""
    value = id_of(doc.get(key))
    if value is None:
        return None
    found = _http_url(value)
    if found is None:
        raise MalformedError(f"{key} is not an http(s) URL of at most {MAX_URL} characters")
    return found


def note_columns(doc: dict[str, Any]) -> dict[str, Any]:
    """Column values of ``RemoteNote`` for an AS2 ``Note``; raises ``MalformedError``."""
    return {
        "uri": _object_id(doc),
        "in_reply_to": _linked_id(doc, "inReplyTo"),
        "content_html": safe_html(localized(doc, "content")),
    }


def title_of(doc: dict[str, Any], fallback: Any = None) -> str:
    """``name`` as one plain line, else ``fallback``; raises ``MalformedError`` if empty."""
    title = " ".join(plain_text(localized(doc, "name"), MAX_TITLE * 4).split())[:MAX_TITLE]
    if not title and fallback is not None:
        title = " ".join(clean_text(fallback, MAX_TITLE * 4).split())[:MAX_TITLE]
    if not title:
        raise MalformedError("name is missing or empty")
    return title


def _page_url(doc: dict[str, Any], object_id: str) -> str:
    """The first http(s) ``url`` (HTML Links first), else the id."""
    entries = as_list(doc.get("url"))
    html_links = [e for e in entries if isinstance(e, dict) and e.get("mediaType") == "text/html"]
    for entry in [*html_links, *entries]:
        found = _http_url(entry.get("href") if isinstance(entry, dict) else entry)
        if found is not None:
            return found
    return object_id


def timezone_of(doc: dict[str, Any]) -> str:
    """``timezone`` when it is an IANA zone, else ``UTC``."""
    value = doc.get("timezone")
    return value if isinstance(value, str) and is_iana_zone(value) else "UTC"


def _claimed_actor(doc: dict[str, Any]) -> str:
    for value in (*as_list(doc.get("attributedTo")), doc.get("actor")):
        found = _http_url(id_of(value))
        if found is not None:
            return found
    return ""


def federated_columns(doc: dict[str, Any]) -> dict[str, Any]:
    """The columns every remote event and callout shares."""
    object_id = _object_id(doc)
    values: dict[str, Any] = {
        "uri": object_id,
        "local": False,
        "url": _page_url(doc, object_id),
        "actor_uri": _claimed_actor(doc),
        "origin_domain": url_authority(object_id),
        "raw": doc,
    }
    for column, key in (("published_at", "published"), ("updated_at", "updated")):
        moment = utc_time(doc.get(key), "UTC")
        if moment is not None:
            values[column] = moment
    return values


# -- location -----------------------------------------------------------------------


def _postal_address(address: dict[str, Any]) -> str:
    """``street, postcode locality, region, country`` from a schema.org PostalAddress."""
    parts = (
        " ".join(clean_text(_country(address.get(key)), MAX_LINE) for key in keys).strip()
        for keys in _ADDRESS_PARTS
    )
    return ", ".join(part for part in parts if part)


def _country(value: Any) -> Any:
    return value.get("name") if isinstance(value, dict) else value  # schema.org Country


def _address(value: Any) -> str:
    if isinstance(value, dict):
        return _postal_address(value)[:MAX_ADDRESS]
    return " ".join(clean_text(first_str(value), MAX_ADDRESS * 2).split())[:MAX_ADDRESS]


def _place_values(place: dict[str, Any]) -> dict[str, Any]:
    latitude = _coordinate(place.get("latitude"), 90.0)
    longitude = _coordinate(place.get("longitude"), 180.0)
    if latitude is None or longitude is None:
        latitude = longitude = None
    return {
        "location_name": " ".join(plain_text(localized(place, "name"), MAX_LINE).split()),
        "location_address": _address(place.get("address")),
        "latitude": latitude,
        "longitude": longitude,
    }


def _online_url(doc: dict[str, Any]) -> str | None:
    """A VirtualLocation's url, else a text/html Link attachment (Gancio, Mobilizon)."""
    for item in dicts(doc.get("location")):
        if "VirtualLocation" in types_of(item):
            virtual = _page_url(item, "")
            if virtual:
                return virtual
    for item in dicts(doc.get("attachment")):
        if "Link" in types_of(item) and item.get("mediaType") in (None, "text/html"):
            link = _http_url(item.get("href"))
            if link is not None:
                return link
    return None


def location_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Place, address, coordinates and online link; empty values when there are none."""
    values: dict[str, Any] = {
        "location_name": "",
        "location_address": "",
        "latitude": None,
        "longitude": None,
    }
    places = [item for item in dicts(doc.get("location")) if "Place" in types_of(item)]
    if places:
        values.update(_place_values(places[0]))
    values["online_url"] = _online_url(doc)
    return values
