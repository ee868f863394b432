"""The one spelling of a moment on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(moment: datetime) -> str:
    """``2026-02-03T19:00:00Z``: UTC to the second, the form Mastodon writes ``published`` in.

    Used for every AS2 date (``published``, ``updated``, ``deleted``, ``closed``)
    and for Atom's RFC 3339 dates; event times, which keep their own zone's
    offset, are written by ``node.ap.events.iso_in_zone`` instead.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
