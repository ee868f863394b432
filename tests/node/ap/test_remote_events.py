"""Reading other servers' events (node/ap/remote_events.py): real shapes, our own
round trip, and junk that must never crash or reach the database unsanitised.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from federation.errors import MalformedError
from node.ap.context import document
from node.ap.events import event_to_as
from node.ap.remote_events import as_event_to_remote_event
from node.content.text import event_summary
from tests.support.documents import (
    ACTOR,
    URLS,
    fixture_object,
    make_event,
    minimal_event,
)

# -- real-world shapes --------------------------------------------------------------


def test_mobilizon_event_field_by_field() -> None:
    doc = fixture_object("mobilizon-create-event.json")
    values = as_event_to_remote_event(doc)
    uri = "https://mobilizon.example/events/5f1d2c3b-8a9e-4b7c-9d6e-1a2b3c4d5e6f"
    assert values["uri"] == values["url"] == uri
    assert values["local"] is False
    assert values["origin_domain"] == "mobilizon.example"
    assert values["actor_uri"] == "https://mobilizon.example/@tenants"
    assert values["title"] == "Eviction defence briefing"
    assert values["description_html"] == "<p>How to stand in a doorway, legally.</p>"
    assert values["summary_text"] == "Monday 3 February 2027 07:00 - GMT+1 - Via Roma 1 Torino"
    assert values["starts_at"] == datetime(2027, 2, 3, 6, 0, tzinfo=UTC)
    assert values["ends_at"] == datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
    assert values["timezone"] == "Europe/Rome"
    assert values["tags"] == ["housing"]
    assert values["status"] == "scheduled"
    assert values["location_name"] == "Via Roma 1"
    assert values["location_address"] == "Via Roma 1, 10121 Torino, Piemonte, Italia"
    assert (values["latitude"], values["longitude"]) == (45.07, 7.68)
    assert values["online_url"] == "https://meet.example/room"  # its Link attachment
    assert (
        values["published_at"]
        == values["updated_at"]
        == datetime(2027, 1, 20, 10, 11, 12, tzinfo=UTC)
    )
    assert values["raw"] is doc


def test_gancio_event_field_by_field() -> None:
    doc = fixture_object("gancio-create-event.json")
    values = as_event_to_remote_event(doc)
    assert values["uri"] == "https://gancio.example/federation/m/42"
    assert values["url"] == "https://gancio.example/event/eviction-defence"
    assert values["actor_uri"] == "https://gancio.example/federation/u/relay"
    assert values["title"] == "Eviction defence"
    assert values["description_html"] == "<p>description</p>"
    assert values["summary_text"] == "Via Roma 1, Monday, February 3, 07:00 AM CET"
    assert values["starts_at"] == datetime(2027, 2, 3, 6, 0, tzinfo=UTC)
    assert values["ends_at"] == datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
    assert values["timezone"] == "UTC"  # Gancio sends no zone
    assert values["tags"] == ["housing"]
    assert values["status"] == "scheduled"
    assert values["location_name"] == "Via Roma 1"
    assert values["location_address"] == "Via Roma 1, Torino"
    assert (values["latitude"], values["longitude"]) == (45.07, 7.68)
    assert values["online_url"] is None  # an image Document is not a link
    assert values["published_at"] == datetime(2027, 1, 15, 17, 23, 51, tzinfo=UTC)
    assert "updated_at" not in values


def test_gancio_online_event_virtual_location_and_link() -> None:
    doc = fixture_object("gancio-create-event.json")
    doc["location"] = [
        doc["location"],
        {"type": "VirtualLocation", "url": "https://meet.example/a"},
    ]
    doc["attachment"] = [
        {"type": "Link", "mediaType": "text/html", "name": "x", "href": "https://meet.example/b"}
    ]
    values = as_event_to_remote_event(doc)
    assert values["online_url"] == "https://meet.example/a"
    assert values["location_name"] == "Via Roma 1"
    doc["location"] = []
    values = as_event_to_remote_event(doc)
    assert values["online_url"] == "https://meet.example/b"
    assert values["location_name"] == "" and values["latitude"] is None


def test_mastodon_like_event_without_location() -> None:
    values = as_event_to_remote_event(minimal_event())
    assert values["title"] == "Picnic"
    assert values["url"] == "https://social.example/events/1"  # no url: the id
    assert values["ends_at"] == values["starts_at"] + timedelta(hours=2)
    assert values["location_name"] == values["location_address"] == ""
    assert values["latitude"] is values["longitude"] is values["online_url"] is None
    assert values["description_html"] == values["summary_text"] == ""
    assert values["tags"] == []
    assert values["timezone"] == "UTC"


@pytest.mark.parametrize(
    "changes",
    [
        {"eventStatus": "https://w3id.org/fep/8a8e/EventCancelled"},
        {"eventStatus": "EventCancelled"},
        {"eventStatus": "fep8a8e:EventCancelled"},
        {"ical:status": "CANCELLED"},
        {"status": "cancelled"},
    ],
)
def test_cancelled_in_any_vocabulary(changes: dict[str, Any]) -> None:
    assert as_event_to_remote_event(minimal_event(**changes))["status"] == "cancelled"


def test_url_prefers_an_html_link() -> None:
    doc = minimal_event(
        url=[
            {
                "type": "Link",
                "mediaType": "application/activity+json",
                "href": "https://social.example/a",
            },
            {"type": "Link", "mediaType": "text/html", "href": "https://social.example/page"},
        ]
    )
    assert as_event_to_remote_event(doc)["url"] == "https://social.example/page"


def test_time_without_offset_is_read_in_the_events_zone() -> None:
    doc = minimal_event(startTime="2027-02-03T07:00:00", timezone="Europe/Rome")
    assert as_event_to_remote_event(doc)["starts_at"] == datetime(2027, 2, 3, 6, 0, tzinfo=UTC)


def test_end_before_start_gets_the_default_length() -> None:
    values = as_event_to_remote_event(minimal_event(endTime="2027-05-01T11:00:00Z"))
    assert values["ends_at"] == datetime(2027, 5, 1, 14, 0, tzinfo=UTC)


def test_tags_are_lowercased_deduplicated_and_capped() -> None:
    tags = [{"type": "Hashtag", "name": f"#Tag{n}"} for n in range(30)]
    tags[1:1] = [{"type": "Hashtag", "name": "#TAG0"}, {"type": "Mention", "name": "@a"}]
    assert as_event_to_remote_event(minimal_event(tag=tags))["tags"] == [
        f"tag{n}" for n in range(20)
    ]


# -- our own documents round-trip ---------------------------------------------------


EVENT_COLUMNS = (
    "uri", "url", "title", "description_html", "starts_at", "ends_at", "timezone", "tags",
    "status", "location_name", "location_address", "latitude", "longitude", "online_url",
    "published_at", "updated_at",
)  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": "cancelled"},
        {"online_url": "https://meet.example/r"},
        {"location_name": "", "location_address": "", "latitude": None, "longitude": None,
         "online_url": "https://meet.example/r"},
        {"timezone": "America/New_York", "tags": []},
    ],
)  # fmt: skip
def test_our_event_round_trips(changes: dict[str, Any]) -> None:
    event = make_event(**changes)
    values = as_event_to_remote_event(document(event_to_as(event, URLS, ACTOR)))
    for column in EVENT_COLUMNS:
        assert values[column] == getattr(event, column), column
    assert values["summary_text"] == event_summary(event)
    assert values["actor_uri"] == ACTOR


# -- safety ---------------------------------------------------------------------------


def test_hostile_html_is_stored_sanitised() -> None:
    doc = minimal_event(
        name="<b>Picnic</b><script>alert(1)</script>",
        content='<p onclick="x()">Hi<script>alert(1)</script><style>*{}</style>'
        '<img src=x onerror="alert(1)"><a href="javascript:alert(1)">l</a></p>',
        summary="<p>Sat <em>noon</em></p><script>alert(1)</script>",
    )
    values = as_event_to_remote_event(doc)
    assert values["title"] == "Picnic"
    assert values["description_html"] == '<p>Hi<a rel="nofollow noopener noreferrer">l</a></p>'
    assert values["summary_text"] == "Sat noon"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  <b> </b> "}, "name"),
        ({"name": 42}, "name"),
        ({"startTime": None}, "startTime"),
        ({"startTime": "next Tuesday"}, "startTime"),
        ({"startTime": 1_700_000_000}, "startTime"),
        ({"startTime": "9999-12-31T23:00:00Z"}, "startTime"),
        ({"startTime": "9999-12-31T23:59:59-14:00"}, "startTime"),
        ({"id": None}, "id"),
        ({"id": "urn:uuid:1"}, "id"),
        ({"id": "javascript:alert(1)"}, "id"),
    ],
)
def test_missing_or_invalid_required_fields_raise(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedError, match=field):
        as_event_to_remote_event(minimal_event(**changes))


JUNK = [
    {"location": 5},
    {"location": [1, "x", None, []]},
    {"location": {"type": "Place", "latitude": "abc", "longitude": [1], "address": 7, "name": {}}},
    {"location": {"type": "Place", "name": "P", "latitude": 95.0, "longitude": 7.0}},
    {"location": {"type": "Place", "name": "P", "latitude": float("nan"), "longitude": 7.0}},
    {"location": {"type": "Place", "name": "P", "latitude": True, "longitude": 7.0}},
    {
        "location": {
            "type": "Place",
            "address": {"streetAddress": 1, "addressCountry": {"name": "IT"}},
        }
    },
    {"location": {"type": "VirtualLocation", "url": "javascript:alert(1)"}},
    {"tag": "x"},
    {"tag": [1, {"type": "Hashtag", "name": 5}, {"type": "Hashtag"}]},
    {"url": 5},
    {"url": [{}, None, "ftp://x"]},
    {"content": ["x"]},
    {"content": {"en": "x"}},
    {"summary": {}},
    {"timezone": 5},
    {"timezone": "../../etc/passwd"},
    {"eventStatus": [1]},
    {"ical:status": {"x": 1}},
    {"attachment": {"type": "Link", "href": 5}},
    {"published": 5, "updated": "yesterday"},
    {"endTime": ["nope"]},
    {"attributedTo": [5, {"id": 7}]},
    {"type": ["Event", 3]},
    {"nameMap": 5},
    {"startTime": ["2027-05-01T12:00:00Z"]},
]


@pytest.mark.parametrize("changes", JUNK)
def test_junk_types_never_crash(changes: dict[str, Any]) -> None:
    values = as_event_to_remote_event(minimal_event(**changes))
    assert values["title"] == "Picnic"
    assert values["latitude"] is None or -90 <= values["latitude"] <= 90
    assert values["online_url"] is None or values["online_url"].startswith("http")
    assert isinstance(values["description_html"], str)
    assert values["timezone"] in {"UTC"}


def test_postal_address_with_country_object() -> None:
    doc = minimal_event(
        location={
            "type": "Place",
            "address": {
                "type": "PostalAddress",
                "streetAddress": "1 High St",
                "addressCountry": {"name": "UK"},
            },
        }
    )
    values = as_event_to_remote_event(doc)
    assert values["location_address"] == "1 High St, UK"
    assert values["location_name"] == ""


def test_not_a_dict_raises_malformed() -> None:
    with pytest.raises(MalformedError):
        as_event_to_remote_event(["not", "an", "object"])  # type: ignore[arg-type]


def test_fixture_documents_are_not_modified() -> None:
    doc = fixture_object("mobilizon-create-event.json")
    before = copy.deepcopy(doc)
    as_event_to_remote_event(doc)
    assert doc == before


def test_lone_surrogates_controls_and_bidi_overrides_are_cleaned() -> None:
    doc = minimal_event(
        name="Pic\ud800nic\u202e\x07\u00a0day",
        content="<p>a\udfffb</p>",
        location={"type": "Place", "name": "Hall\u2066", "address": "1\u00a0High St"},
    )
    values = as_event_to_remote_event(doc)
    assert values["title"] == "Pic?nic day"  # as in HTML: replaced, not dropped
    assert values["description_html"] == "<p>a?b</p>"
    assert values["location_name"] == "Hall"
    assert values["location_address"] == "1 High St"
    json.dumps(values["title"]).encode()  # storable as UTF-8
