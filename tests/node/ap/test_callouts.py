"""Our callouts as ``Question`` polls: the shape Mastodon shows, and our namespace."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.ap.callouts import CALLOUT_OPTIONS, callout_to_as, option_from_name
from node.ap.context import TERMS, TOCSIN_NS, document
from node.content.models import Callout
from node.urls import Urls

BASE = "https://node.example"
URLS = Urls(BASE)
ACTOR = URLS.actor("network")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
NOW = datetime(2026, 2, 3, 6, 0, tzinfo=UTC)
PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"
AS_TERMS = {
    "id", "type", "url", "name", "content", "mediaType", "startTime", "endTime", "attributedTo",
    "tag", "published", "updated", "to", "cc", "location", "totalItems", "href", "latitude",
    "longitude", "oneOf", "replies", "closed", "contentMap",
}  # fmt: skip
AS_TYPES = {"Question", "Note", "Collection", "Place"}


def make_callout(**changes: Any) -> Callout:
    values: dict[str, Any] = {
        "uri": f"{BASE}/callouts/41",
        "local": True,
        "actor_uri": ACTOR,
        "origin_domain": "node.example",
        "relayed_by": None,
        "url": f"{BASE}/callouts/41",
        "raw": None,
        "published_at": datetime(2026, 2, 3, 5, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 3, 5, 30, tzinfo=UTC),
        "title": "Eviction at 12 Elm Road",
        "needed": "Bodies at the door",
        "people_needed": 20,
        "contact": "Signal +44 7700 900000",
        "urgency": "urgent",
        "starts_at": datetime(2026, 2, 3, 7, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 2, 3, 10, 0, tzinfo=UTC),
        "timezone": "Europe/London",
        "status": "open",
        "content_html": "",
        "come_count": 12,
        "help_count": 3,
        "tally_published_at": None,
        "location_name": "12 Elm Road",
        "location_address": "Tottenham, London N17",
        "latitude": 51.6,
        "longitude": -0.07,
        "online_url": None,
    }
    return Callout(**(values | changes))


def question(now: datetime = NOW, **changes: Any) -> dict[str, Any]:
    return callout_to_as(make_callout(**changes), URLS, ACTOR, now=now)


def test_question_shape() -> None:
    doc = question()
    assert doc["type"] == "Question"
    assert doc["id"] == doc["url"] == f"{BASE}/callouts/41"
    assert doc["name"] == "Eviction at 12 Elm Road"
    assert doc["mediaType"] == "text/html"
    assert doc["attributedTo"] == ACTOR
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [f"{ACTOR}/followers"]
    assert doc["published"] == "2026-02-03T05:00:00Z"
    assert doc["updated"] == "2026-02-03T05:30:00Z"
    assert doc["startTime"] == "2026-02-03T07:00:00Z"
    assert doc["endTime"] == "2026-02-03T10:00:00Z"
    assert doc["tag"] == [{"type": "Hashtag", "name": "#callout", "href": f"{BASE}/tags/callout"}]
    assert "summary" not in doc  # Mastodon would show it as a content warning
    assert "@context" not in doc
    json.dumps(document(doc))


def test_two_options_with_their_totals() -> None:
    doc = question()
    assert doc["oneOf"] == [
        {"type": "Note", "name": "I can come", "replies": {"type": "Collection", "totalItems": 12}},
        {
            "type": "Note",
            "name": "I can help another way",
            "replies": {"type": "Collection", "totalItems": 3},
        },
    ]
    assert doc["votersCount"] == 15
    assert "anyOf" not in doc


def test_project_namespace_fields() -> None:
    doc = question()
    assert doc["urgency"] == "urgent"
    assert doc["needed"] == "Bodies at the door"
    assert doc["peopleNeeded"] == 20
    assert doc["calloutStatus"] == "open"
    assert doc["contact"] == "Signal +44 7700 900000"
    assert doc["timezone"] == "Europe/London"


def test_uncounted_need_has_no_people_needed() -> None:
    assert "peopleNeeded" not in question(people_needed=None)


def test_open_callout_has_no_closed() -> None:
    assert "closed" not in question()


def test_expired_callout_closed_at_its_end() -> None:
    doc = question(now=datetime(2026, 2, 3, 11, 0, tzinfo=UTC))
    assert doc["closed"] == "2026-02-03T10:00:00Z"
    assert doc["endTime"] == "2026-02-03T10:00:00Z"
    assert "closed" in doc["content"] and "Answer the poll" not in doc["content"]


@pytest.mark.parametrize(
    ("status", "line"),
    [("met", "ALL CLEAR \u2014 thank you"), ("cancelled", "CANCELLED \u2014 do not go")],
)
def test_met_or_cancelled_callout_is_closed_now_not_at_its_end(status: str, line: str) -> None:
    """Mastodon takes ``closed`` over ``endTime``, so voting stops when the need is met."""
    doc = question(status=status)
    assert doc["calloutStatus"] == status
    assert doc["closed"] == "2026-02-03T05:30:00Z"  # the update that closed it
    assert line in doc["content"]


def test_closed_is_never_after_now_or_the_end() -> None:
    doc = question(status="met", updated_at=NOW + timedelta(hours=1))
    assert doc["closed"] == "2026-02-03T06:00:00Z"


def test_location_as_for_events() -> None:
    place = question()["location"]
    assert place == {
        "type": "Place",
        "name": "12 Elm Road",
        "address": "Tottenham, London N17",
        "latitude": 51.6,
        "longitude": -0.07,
    }
    hybrid = question(online_url="https://meet.example/r")["location"]
    assert [item["type"] for item in hybrid] == ["Place", "VirtualLocation"]


def test_content_carries_need_where_when_until_contact_and_urgency() -> None:
    content = question()["content"]
    for text in (
        "<strong>URGENT</strong>: Eviction at 12 Elm Road",
        "Needed: Bodies at the door \u2014 20 people needed",
        "Where: 12 Elm Road, Tottenham, London N17",
        "openstreetmap.org/?mlat=51.60000&amp;mlon=-0.07000",
        "From: Tue 3 Feb 2026, 07:00 (Europe/London)",
        "Until: Tue 3 Feb 2026, 10:00 (Europe/London)",
        "Contact: Signal +44 7700 900000",
        "Answer the poll",
        f'href="{BASE}/tags/callout"',
    ):
        assert text in content


def test_project_namespace_terms_are_defined_inline() -> None:
    context = document(question())["@context"]
    inline = [entry for entry in context if isinstance(entry, dict)]
    assert len(inline) == 1 and inline[0] is TERMS
    assert TERMS["tocsin"] == TOCSIN_NS == "https://w3id.org/tocsin#"
    for term in ("urgency", "needed", "calloutStatus", "contact"):
        assert TERMS[term] == f"tocsin:{term}"
    assert TERMS["peopleNeeded"]["@id"] == "tocsin:peopleNeeded"
    assert TERMS["votersCount"] == "toot:votersCount"


def test_every_published_term_is_defined() -> None:
    def undefined(node: Any) -> set[str]:
        if isinstance(node, list):
            return set().union(*(undefined(item) for item in node))
        if not isinstance(node, dict):
            return set()
        found = {key for key in node if key not in AS_TERMS and key not in TERMS}
        if node.get("type") not in AS_TYPES | set(TERMS):
            found.add(f"type {node.get('type')}")
        # a language map's keys are language tags, not terms
        values = [value for key, value in node.items() if not key.endswith("Map")]
        return found.union(*(undefined(value) for value in values))

    assert undefined(question(online_url="https://meet.example/r", status="met")) == set()


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("I can come", "come"),
        ("I can help another way", "help"),
        ("  i can   COME ", "come"),
        ("I can come!", None),
        ("", None),
        (None, None),
        (3, None),
        (["I can come"], None),
    ],
)
def test_option_from_name(name: Any, option: str | None) -> None:
    assert option_from_name(name) == option


def test_mastodon_vote_fixture_names_an_option() -> None:
    vote = json.loads((PAYLOADS / "mastodon-vote.json").read_text())
    assert option_from_name(vote["object"]["name"]) == "come"
    assert set(CALLOUT_OPTIONS) == {"come", "help"}
