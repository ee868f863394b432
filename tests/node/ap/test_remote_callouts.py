"""Reading other nodes' callouts (node/ap/remote_callouts.py): our own round trip,
what is a callout and what is only a poll, and junk values.
"""

from __future__ import annotations

from typing import Any

import pytest

from federation.errors import MalformedError
from node.ap.callouts import callout_to_as
from node.ap.context import CONTEXT, document
from node.ap.remote_callouts import as_question_to_remote_callout, is_tocsin_callout
from tests.support.documents import (
    ACTOR,
    NOW,
    URLS,
    make_callout,
)

CALLOUT_COLUMNS = (
    "uri", "url", "title", "needed", "people_needed", "contact", "urgency", "starts_at",
    "ends_at", "timezone", "status", "come_count", "help_count", "location_name",
    "location_address", "latitude", "longitude", "online_url", "published_at", "updated_at",
)  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"status": "met", "urgency": "soon", "people_needed": None},
        {"status": "cancelled", "urgency": "ongoing", "contact": ""},
        {"online_url": "https://meet.example/r", "latitude": None, "longitude": None},
    ],
)
def test_our_callout_round_trips(changes: dict[str, Any]) -> None:
    callout = make_callout(**changes)
    doc = document(callout_to_as(callout, URLS, ACTOR, now=NOW))
    assert is_tocsin_callout(doc)
    values = as_question_to_remote_callout(doc)
    for column in CALLOUT_COLUMNS:
        assert values[column] == getattr(callout, column), column
    assert "Bodies at the door" in values["content_html"]
    assert 'rel="nofollow noopener noreferrer"' in values["content_html"]  # sanitised on the way in


def test_expired_callout_without_status_reads_as_open_and_closed_early_as_met() -> None:
    doc = document(callout_to_as(make_callout(), URLS, ACTOR, now=NOW))
    del doc["calloutStatus"]
    assert as_question_to_remote_callout(doc)["status"] == "open"
    doc["closed"] = "2026-02-03T08:00:00Z"
    assert as_question_to_remote_callout(doc)["status"] == "met"


def test_embedded_question_is_recognised_with_its_activitys_context() -> None:
    question = callout_to_as(make_callout(), URLS, ACTOR, now=NOW)
    assert not is_tocsin_callout(question)  # no @context of its own
    assert is_tocsin_callout(question, context=CONTEXT)


def test_mastodon_poll_is_not_a_callout() -> None:
    poll = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"toot": "http://joinmastodon.org/ns#"},
        ],
        "id": "https://social.example/users/a/statuses/1",
        "type": "Question",
        "content": "<p>Pizza?</p>",
        "endTime": "2027-01-01T00:00:00Z",
        "oneOf": [
            {
                "type": "Note",
                "name": "I can come",
                "replies": {"type": "Collection", "totalItems": 5},
            }
        ],
    }
    assert not is_tocsin_callout(poll)
    assert not is_tocsin_callout(poll | {"urgency": "urgent"})  # no tocsin namespace
    other = poll | {"urgency": "urgent", "@context": [{"tocsin": "https://evil.example/ns#"}]}
    assert not is_tocsin_callout(other)
    assert not is_tocsin_callout(poll | {"type": "Note", "urgency": "urgent", "@context": CONTEXT})
    assert is_tocsin_callout(
        poll | {"urgency": "urgent", "@context": [{"tocsin": {"@id": "https://w3id.org/tocsin#"}}]}
    )


def test_remote_callout_junk_values_fall_back() -> None:
    doc = document(callout_to_as(make_callout(), URLS, ACTOR, now=NOW))
    doc |= {
        "urgency": "PANIC",
        "peopleNeeded": True,
        "calloutStatus": 5,
        "contact": ["x"],
        "needed": {},
    }
    doc["oneOf"] = [{"name": "I can come", "replies": 7}, "junk", {"name": 5}]
    values = as_question_to_remote_callout(doc)
    assert values["urgency"] == "soon"
    assert values["people_needed"] is None
    assert values["status"] == "open"
    assert values["contact"] == values["needed"] == ""
    assert values["come_count"] == values["help_count"] == 0
    doc["peopleNeeded"] = "12"
    assert as_question_to_remote_callout(doc)["people_needed"] == 12


def test_remote_callout_needs_an_end() -> None:
    doc = document(callout_to_as(make_callout(), URLS, ACTOR, now=NOW))
    del doc["endTime"]
    with pytest.raises(MalformedError, match="endTime"):
        as_question_to_remote_callout(doc)
