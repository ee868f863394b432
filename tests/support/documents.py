"""Helpers of the tests that read AS2 documents (tests/node/ap/*): the payload
fixtures of other servers, and our own events and callouts to round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from node.content.models import Callout, Event
from node.urls import Urls

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
BASE = "https://node.example"
URLS = Urls(BASE)
ACTOR = URLS.actor("network")
NOW = datetime(2026, 2, 3, 6, 0, tzinfo=UTC)


def fixture_object(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads((PAYLOADS / name).read_text())["object"]
    return obj


def make_event(**changes: Any) -> Event:
    values: dict[str, Any] = {
        "uri": f"{BASE}/events/7", "local": True, "actor_uri": ACTOR,
        "origin_domain": "node.example", "relayed_by": None, "url": f"{BASE}/events/7",
        "raw": None, "published_at": datetime(2026, 1, 20, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 21, 12, 30, tzinfo=UTC), "title": "Tenants' assembly",
        "description_md": "", "description_html": "<p>Bring <strong>flyers</strong>.</p>",
        "summary_text": "", "starts_at": datetime(2026, 7, 3, 18, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 7, 3, 20, 0, tzinfo=UTC), "timezone": "Europe/London",
        "all_day": False, "tags": ["housing", "tenants"], "status": "scheduled",
        "location_name": "Town Hall", "location_address": "1 High St, London N15",
        "latitude": 51.58, "longitude": -0.07, "online_url": None,
    }  # fmt: skip
    return Event(**(values | changes))


def make_callout(**changes: Any) -> Callout:
    values: dict[str, Any] = {
        "uri": f"{BASE}/callouts/41", "local": True, "actor_uri": ACTOR,
        "origin_domain": "node.example", "relayed_by": None, "url": f"{BASE}/callouts/41",
        "raw": None, "published_at": datetime(2026, 2, 3, 5, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 3, 5, 30, tzinfo=UTC), "title": "Eviction at 12 Elm Road",
        "needed": "Bodies at the door", "people_needed": 20, "contact": "Signal +44 7700 900000",
        "urgency": "urgent", "starts_at": datetime(2026, 2, 3, 7, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 2, 3, 10, 0, tzinfo=UTC), "timezone": "Europe/London",
        "status": "open", "content_html": "", "come_count": 12, "help_count": 3,
        "tally_published_at": None, "location_name": "12 Elm Road",
        "location_address": "Tottenham, London N17", "latitude": 51.6, "longitude": -0.07,
        "online_url": None,
    }  # fmt: skip
    return Callout(**(values | changes))


def minimal_event(**changes: Any) -> dict[str, Any]:
    """A Mastodon-like Event: name, start, nothing else."""
    doc = {
        "id": "https://social.example/events/1",
        "type": "Event",
        "name": "Picnic",
        "startTime": "2027-05-01T12:00:00Z",
    }
    return doc | changes
