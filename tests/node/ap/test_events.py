"""Our events as FEP-8a8e ``Event`` objects, as calendars and Mastodon read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from node.ap.context import AS_CONTEXT, SECURITY_CONTEXT, TERMS, document
from node.ap.events import event_to_as, tombstone_to_as
from node.content.models import Event
from node.urls import Urls

BASE = "https://node.example"
URLS = Urls(BASE)
ACTOR = URLS.actor("network")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
FEP = "https://w3id.org/fep/8a8e/"
# ActivityStreams terms we use (all defined by the AS context itself).
AS_TERMS = {
    "id", "type", "url", "name", "summary", "content", "mediaType", "startTime", "endTime",
    "attributedTo", "tag", "published", "updated", "to", "cc", "location", "items",
    "totalItems", "href", "latitude", "longitude", "formerType", "deleted", "summaryMap",
    "contentMap",
}  # fmt: skip
AS_TYPES = {"Event", "Place", "Collection", "Tombstone"}


def make_event(**changes: Any) -> Event:
    values: dict[str, Any] = {
        "uri": f"{BASE}/events/7",
        "local": True,
        "actor_uri": ACTOR,
        "origin_domain": "node.example",
        "relayed_by": None,
        "url": f"{BASE}/events/7",
        "raw": None,
        "published_at": datetime(2026, 1, 20, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 21, 12, 30, tzinfo=UTC),
        "title": "Tenants' assembly",
        "description_md": "Bring **flyers**.",
        "description_html": "<p>Bring <strong>flyers</strong>.</p>",
        "summary_text": "",
        "starts_at": datetime(2026, 2, 3, 19, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 2, 3, 21, 0, tzinfo=UTC),
        "timezone": "Europe/London",
        "all_day": False,
        "tags": ["housing", "tenants"],
        "status": "scheduled",
        "location_name": "Town Hall",
        "location_address": "1 High St, London N15",
        "latitude": 51.58,
        "longitude": -0.07,
        "online_url": None,
    }
    return Event(**(values | changes))


def undefined_terms(node: Any) -> set[str]:
    """Keys (and ``type`` values) used anywhere that the published context does not define."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= undefined_terms(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            prefix = key.split(":", 1)[0] if ":" in key else None
            if key not in AS_TERMS and key not in TERMS and prefix not in TERMS:
                found.add(key)
            if key == "type" and value not in AS_TYPES and value not in TERMS:
                found.add(f"type {value}")
            if not key.endswith("Map"):  # a language map's keys are language tags
                found |= undefined_terms(value)
    return found


def test_event_has_fep_8a8e_required_fields() -> None:
    doc = event_to_as(make_event(), URLS, ACTOR)
    assert doc["type"] == "Event"
    assert doc["name"] == "Tenants' assembly"
    assert doc["startTime"] == "2026-02-03T19:00:00+00:00"
    assert doc["endTime"] == "2026-02-03T21:00:00+00:00"
    assert doc["organizers"] == {"type": "Collection", "totalItems": 1, "items": [ACTOR]}


def test_event_has_fep_8a8e_recommended_fields() -> None:
    doc = event_to_as(make_event(), URLS, ACTOR)
    assert doc["timezone"] == "Europe/London"
    assert doc["displayEndTime"] is True
    assert doc["eventStatus"] == f"{FEP}EventScheduled"
    assert doc["ical:status"] == "CONFIRMED"
    assert doc["joinMode"] == "none"
    assert doc["category"] == "MOVEMENTS_POLITICS"
    assert doc["location"] == {
        "type": "Place",
        "name": "Town Hall",
        "address": "1 High St, London N15",
        "latitude": 51.58,
        "longitude": -0.07,
    }


def test_event_identity_audience_and_dates() -> None:
    doc = event_to_as(make_event(), URLS, ACTOR)
    assert doc["id"] == f"{BASE}/events/7"
    assert doc["url"] == f"{BASE}/events/7"
    assert doc["attributedTo"] == ACTOR
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [f"{ACTOR}/followers"]
    assert doc["published"] == "2026-01-20T12:00:00Z"
    assert doc["updated"] == "2026-01-21T12:30:00Z"
    assert doc["content"] == "<p>Bring <strong>flyers</strong>.</p>"
    assert doc["mediaType"] == "text/html"
    assert doc["tag"] == [
        {"type": "Hashtag", "name": "#housing", "href": f"{BASE}/tags/housing"},
        {"type": "Hashtag", "name": "#tenants", "href": f"{BASE}/tags/tenants"},
    ]


def test_event_is_returned_without_context_and_wrapped_with_one() -> None:
    doc = event_to_as(make_event(), URLS, ACTOR)
    assert "@context" not in doc
    wrapped = document(doc)
    assert next(iter(wrapped)) == "@context"
    json.dumps(wrapped)  # plain JSON all the way down


def test_every_published_term_is_defined_inline() -> None:
    hybrid = make_event(online_url="https://meet.example/r", status="cancelled")
    doc = document(event_to_as(hybrid, URLS, ACTOR))
    context = doc.pop("@context")
    assert context[:2] == [AS_CONTEXT, SECURITY_CONTEXT]
    assert all(isinstance(entry, dict) for entry in context[2:])  # no other context URL
    assert undefined_terms(doc) == set()


def test_fep_terms_use_the_fep_namespace() -> None:
    assert TERMS["fep8a8e"] == FEP
    for term in ("timezone", "joinMode", "organizers"):
        assert TERMS[term] == f"fep8a8e:{term}"
    assert TERMS["eventStatus"]["@id"] == "fep8a8e:eventStatus"
    assert TERMS["displayEndTime"]["@id"] == "fep8a8e:displayEndTime"
    assert TERMS["ical"] == "http://www.w3.org/2002/12/cal/ical#"
    assert TERMS["category"] == "schema:category"
    assert TERMS["schema"] == "http://schema.org#"


def test_mastodon_readers_get_date_time_zone_and_place_in_the_summary() -> None:
    """Mastodon shows only name, summary and a link to url (docs/events.md, "Mastodon")."""
    doc = event_to_as(make_event(), URLS, ACTOR)
    assert doc["summary"] == (
        "Tue 3 Feb 2026, 19:00\u201321:00 (Europe/London) \u00b7 Town Hall, 1 High St, London N15"
    )
    assert doc["url"].startswith(BASE)


def test_summary_is_escaped_because_as2_summary_is_html() -> None:
    doc = event_to_as(make_event(location_name="Tom & Jerry's <pub>"), URLS, ACTOR)
    assert "Tom &amp; Jerry's &lt;pub&gt;" in doc["summary"]


def test_online_only_event_has_a_virtual_location() -> None:
    event = make_event(
        location_name="", location_address="", latitude=None, longitude=None,
        online_url="https://meet.example/r",
    )  # fmt: skip
    doc = event_to_as(event, URLS, ACTOR)
    assert doc["location"] == {
        "type": "VirtualLocation",
        "name": "Online",
        "url": "https://meet.example/r",
    }
    assert "online: https://meet.example/r" in doc["summary"]


def test_hybrid_event_lists_the_place_first_then_the_link() -> None:
    doc = event_to_as(make_event(online_url="https://meet.example/r"), URLS, ACTOR)
    place, virtual = doc["location"]
    assert place["type"] == "Place" and place["name"] == "Town Hall"
    assert virtual == {"type": "VirtualLocation", "name": "Online", "url": "https://meet.example/r"}


def test_event_with_only_an_address_names_the_place_by_it() -> None:
    event = make_event(location_name="", latitude=None, longitude=None)
    assert event_to_as(event, URLS, ACTOR)["location"] == {
        "type": "Place",
        "name": "1 High St, London N15",
        "address": "1 High St, London N15",
    }


def test_event_without_a_place_has_no_location() -> None:
    event = make_event(location_name="", location_address="", latitude=None, longitude=None)
    assert "location" not in event_to_as(event, URLS, ACTOR)


def test_cancelled_event_says_so_in_every_vocabulary() -> None:
    doc = event_to_as(make_event(status="cancelled"), URLS, ACTOR)
    assert doc["eventStatus"] == f"{FEP}EventCancelled"
    assert doc["ical:status"] == "CANCELLED"
    assert doc["summary"].startswith("CANCELLED: ")


@pytest.mark.parametrize(
    ("tz", "starts_at", "expected"),
    [
        ("Europe/London", datetime(2026, 2, 3, 19, 0, tzinfo=UTC), "2026-02-03T19:00:00+00:00"),
        ("Europe/London", datetime(2026, 7, 3, 18, 0, tzinfo=UTC), "2026-07-03T19:00:00+01:00"),
        ("Europe/London", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29T02:00:00+01:00"),
        ("America/New_York", datetime(2026, 2, 4, 0, 30, tzinfo=UTC), "2026-02-03T19:30:00-05:00"),
        ("America/New_York", datetime(2026, 7, 3, 23, 0, tzinfo=UTC), "2026-07-03T19:00:00-04:00"),
        ("Asia/Kolkata", datetime(2026, 2, 3, 13, 30, tzinfo=UTC), "2026-02-03T19:00:00+05:30"),
    ],
)
def test_times_carry_the_offset_of_their_zone_on_that_date(
    tz: str, starts_at: datetime, expected: str
) -> None:
    event = make_event(timezone=tz, starts_at=starts_at, ends_at=starts_at.replace(year=2027))
    doc = event_to_as(event, URLS, ACTOR)
    assert doc["startTime"] == expected
    assert not doc["startTime"].endswith("Z")
    assert datetime.fromisoformat(doc["startTime"]) == starts_at  # the same instant


def test_event_across_a_dst_change_has_two_offsets() -> None:
    event = make_event(
        starts_at=datetime(2026, 3, 28, 20, 0, tzinfo=UTC),
        ends_at=datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
    )
    doc = event_to_as(event, URLS, ACTOR)
    assert doc["startTime"].endswith("+00:00")
    assert doc["endTime"] == "2026-03-29T11:00:00+01:00"


def test_an_unknown_stored_zone_is_published_as_utc() -> None:
    doc = event_to_as(make_event(timezone="Nowhere/Else"), URLS, ACTOR)
    assert doc["timezone"] == "UTC"
    assert doc["startTime"] == "2026-02-03T19:00:00+00:00"


def test_tombstone() -> None:
    doc = tombstone_to_as(f"{BASE}/events/7", "Event", datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    assert doc == {
        "id": f"{BASE}/events/7",
        "type": "Tombstone",
        "formerType": "Event",
        "deleted": "2026-02-01T09:00:00Z",
    }
    assert undefined_terms(doc) == set()
