"""Other servers' ``Event`` objects, read into column values for our ``Event``.

Kept apart from the callout reader because the two documents answer to
different publishers: events come from calendar software we do not control
(Mobilizon, Gancio, Mastodon-like servers), so this side is about tolerating
their vocabularies (``eventStatus`` as a full IRI, a compact IRI or a bare
term; hashtags; no end time), while callouts are our own ``Question`` shape.
The typed readers and the shared columns both use live in :mod:`node.ap.parse`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from federation.as2 import first_str
from federation.errors import MalformedError
from node.ap.parse import (
    clean_text,
    dicts,
    federated_columns,
    localized,
    location_values,
    plain_text,
    safe_html,
    timezone_of,
    title_of,
    types_of,
    utc_time,
)

MAX_SUMMARY = 2_000
MAX_TAGS = 20
MAX_TAG = 100
DEFAULT_DURATION = timedelta(hours=2)
_CANCELLED = frozenset({"cancelled", "canceled", "eventcancelled"})


def _tags(doc: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for item in dicts(doc.get("tag")):
        if "Hashtag" not in types_of(item):
            continue
        name = clean_text(item.get("name"), MAX_TAG * 2).lstrip("#").strip().lower()[:MAX_TAG]
        if name and name not in tags:
            tags.append(name)
        if len(tags) == MAX_TAGS:
            break
    return tags


def _status_word(value: Any) -> str:
    """``EventCancelled`` from a full IRI, a compact IRI or a bare term; lower-cased."""
    text = first_str(value)
    if text is None or len(text) > 200:
        return ""
    for separator in ("/", "#", ":"):
        text = text.rsplit(separator, 1)[-1]
    return text.strip().lower()


def _event_status(doc: dict[str, Any]) -> str:
    words = {_status_word(doc.get(key)) for key in ("eventStatus", "ical:status", "status")}
    return "cancelled" if words & _CANCELLED else "scheduled"


def as_event_to_remote_event(doc: dict[str, Any]) -> dict[str, Any]:
    """Column values of ``Event`` for a remote AS2 ``Event``; raises ``MalformedError``."""
    if not isinstance(doc, dict):
        raise MalformedError("event is not a JSON object")
    tz = timezone_of(doc)
    starts_at = utc_time(doc.get("startTime"), tz)
    if starts_at is None:
        raise MalformedError("startTime is missing or not an ISO 8601 date-time")
    ends_at = utc_time(doc.get("endTime"), tz)
    if ends_at is None or ends_at <= starts_at:
        ends_at = starts_at + DEFAULT_DURATION
    return {
        **federated_columns(doc),
        "title": title_of(doc),
        "description_md": "",
        "description_html": safe_html(localized(doc, "content")),
        "summary_text": plain_text(localized(doc, "summary"), MAX_SUMMARY),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tz,
        "all_day": False,
        "tags": _tags(doc),
        "status": _event_status(doc),
        **location_values(doc),
    }
