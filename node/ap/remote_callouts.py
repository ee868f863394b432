"""Callouts from other Tocsin nodes: recognising them and reading them into columns.

Kept apart from the event reader because a callout is a ``Question`` that only
Tocsin nodes send, so the first job is telling it from every other poll on the
fediverse (the ``tocsin:`` context and ``urgency``), and what is read back is
our own vocabulary (urgency, status, people needed, the answer tallies) rather
than another server's. The typed readers and the shared columns both use live
in :mod:`node.ap.parse`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from federation.as2 import as_list
from federation.errors import MalformedError
from node.ap.callouts import option_from_name
from node.ap.context import TOCSIN_NS
from node.ap.parse import (
    bounded_int,
    clean_text,
    dicts,
    federated_columns,
    localized,
    location_values,
    safe_html,
    timezone_of,
    title_of,
    types_of,
    utc_time,
)

MAX_TEXT = 5_000
MAX_CONTACT = 500
MAX_COUNT = 10_000_000
_CALLOUT_STATUSES = frozenset({"unverified", "open", "enough", "met", "false-alarm", "cancelled"})
_CLOSED_STATUSES = frozenset({"met", "false-alarm", "cancelled"})
_URGENCIES = frozenset({"urgent", "soon", "ongoing"})


def _defines_tocsin(context: Any) -> bool:
    for entry in as_list(context):
        if not isinstance(entry, dict):
            continue
        prefix = entry.get("tocsin")
        if prefix == TOCSIN_NS or (isinstance(prefix, dict) and prefix.get("@id") == TOCSIN_NS):
            return True
    return False


def is_tocsin_callout(doc: dict[str, Any], *, context: Any = None) -> bool:
    """A ``Question`` that carries ``urgency`` under a context defining ``tocsin:``.

    An object embedded in an activity has no ``@context`` of its own: pass the
    activity's as ``context``.
    """
    if not isinstance(doc, dict) or "Question" not in types_of(doc) or "urgency" not in doc:
        return False
    return _defines_tocsin(doc.get("@context", context))


def _tallies(doc: dict[str, Any]) -> dict[str, int]:
    counts = {"come_count": 0, "help_count": 0}
    for option in dicts(doc.get("oneOf")) + dicts(doc.get("anyOf")):
        key = option_from_name(localized(option, "name"))
        replies = option.get("replies")
        total = (
            bounded_int(replies.get("totalItems"), 0, MAX_COUNT)
            if isinstance(replies, dict)
            else None
        )
        if key is not None and total is not None:
            counts[f"{key}_count"] = total
    return counts


def _callout_status(doc: dict[str, Any], ends_at: datetime) -> str:
    """``calloutStatus`` when known; a poll closed before its end is at least ended.

    An unknown status (a newer Tocsin's, say) reads as ``open``, unless ``closed``
    says the poll ended early: then ``met``. A status still taking answers with
    an early ``closed`` is read as ``met`` too, since nobody can vote any more.
    """
    status = clean_text(doc.get("calloutStatus"), 16).lower()
    closed = utc_time(doc.get("closed"), "UTC")
    ended_early = closed is not None and closed < ends_at
    if status in _CLOSED_STATUSES:
        return status
    if ended_early:
        return "met"
    return status if status in _CALLOUT_STATUSES else "open"


def as_question_to_remote_callout(doc: dict[str, Any]) -> dict[str, Any]:
    """Column values of ``Callout`` for a Tocsin callout ``Question``; raises ``MalformedError``."""
    if not isinstance(doc, dict):
        raise MalformedError("callout is not a JSON object")
    tz = timezone_of(doc)
    ends_at = utc_time(doc.get("endTime"), tz)
    if ends_at is None:
        raise MalformedError("endTime is missing or not an ISO 8601 date-time")
    starts_at = utc_time(doc.get("startTime"), tz) or utc_time(doc.get("published"), tz)
    if starts_at is None:
        raise MalformedError("startTime is missing or not an ISO 8601 date-time")
    urgency = clean_text(doc.get("urgency"), 16).lower()
    needed = clean_text(doc.get("needed"), MAX_TEXT)
    return {
        **federated_columns(doc),
        "title": title_of(doc, fallback=needed),
        "needed": needed,
        "people_needed": bounded_int(doc.get("peopleNeeded"), 1, MAX_COUNT),
        "confirmed_count": bounded_int(doc.get("peopleConfirmed"), 0, MAX_COUNT) or 0,
        "contact": clean_text(doc.get("contact"), MAX_CONTACT),
        "urgency": urgency if urgency in _URGENCIES else "soon",
        "starts_at": min(starts_at, ends_at),
        "ends_at": ends_at,
        "timezone": tz,
        "status": _callout_status(doc, ends_at),
        "content_html": safe_html(localized(doc, "content")),
        **_tallies(doc),
        **location_values(doc),
    }
