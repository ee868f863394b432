"""The activities this node sends, as Mastodon expects them.

Shapes are checked against the Mastodon payloads in tests/fixtures/payloads
(rebuilt from Mastodon's serializers) and against our own parser, which is what
a receiving Tocsin node runs; the literal documents pin the wire format, which
other servers have stored (ids, embedded Follows) and must keep matching.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from federation import as2
from node.ap.activities import (
    accept_to_as,
    actor_update_to_as,
    announce_to_as,
    follow_ref_to_as,
    follow_to_as,
    ignore_to_as,
    publication_to_as,
    reject_to_as,
    undo_announce_to_as,
    undo_follow_to_as,
)
from node.ap.context import document
from node.ap.dates import iso_utc
from node.urls import Urls

PAYLOADS = Path(__file__).resolve().parents[2] / "fixtures" / "payloads"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
URLS = Urls("https://haringey.example")
ACTOR = URLS.actor("network")
FOLLOWERS = URLS.followers("network")
ACT = URLS.activity("a1")
ALICE = "https://mastodon.example/users/alice"
WHEN = datetime(2026, 2, 3, 19, 0, 5, tzinfo=UTC)


def mastodon(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    doc.pop("@context", None)
    doc.pop("signature", None)
    return doc


def received(activity: dict[str, Any]) -> as2.Activity:
    """``activity`` as a receiving node parses and checks it."""
    parsed = as2.parse_activity(json.loads(json.dumps(document(activity))))
    as2.check_activity_origin(parsed)
    return parsed


# -- follows ----------------------------------------------------------------------------


def test_follow_is_addressed_to_the_followed_actor_only() -> None:
    assert follow_to_as(activity_id=ACT, actor=ACTOR, target=ALICE) == {
        "id": ACT,
        "type": "Follow",
        "actor": ACTOR,
        "object": ALICE,
        "to": [ALICE],
    }


def test_follow_carries_every_field_of_a_mastodon_follow() -> None:
    ours = follow_to_as(activity_id=ACT, actor=ACTOR, target=ALICE)
    assert set(mastodon("mastodon-follow.json")) <= set(ours)
    parsed = received(ours)
    assert (parsed.type, parsed.actor, parsed.object_id) == ("Follow", ACTOR, ALICE)


def test_accept_embeds_the_follow_exactly_as_mastodon_sent_it() -> None:
    follow = as2.parse_activity(mastodon("mastodon-follow.json"))
    assert follow.object_id is not None
    embedded = follow_ref_to_as(follow_id=follow.id, actor=follow.actor, target=follow.object_id)
    assert embedded == mastodon("mastodon-follow.json")
    accept = accept_to_as(activity_id=ACT, actor=ACTOR, follow=embedded, follower=follow.actor)
    assert accept == {
        "id": ACT,
        "type": "Accept",
        "actor": ACTOR,
        "object": {
            "id": "https://mastodon.example/0c3c1f5e-6f0b-4b43-9c49-2f0d0c1b7a11",
            "type": "Follow",
            "actor": ALICE,
            "object": "https://haringey.example/actor",
        },
        "to": [ALICE],
    }


@pytest.mark.parametrize(
    ("build", "fixture"),
    [(accept_to_as, "mastodon-accept-follow.json"), (reject_to_as, "mastodon-reject-follow.json")],
)
def test_answers_to_a_follow_have_mastodons_shape(build: Any, fixture: str) -> None:
    follow = follow_ref_to_as(follow_id=f"{ALICE}#f1", actor=ALICE, target=ACTOR)
    ours = build(activity_id=ACT, actor=ACTOR, follow=follow, follower=ALICE)
    theirs = mastodon(fixture)
    assert set(theirs) <= set(ours)
    assert set(theirs["object"]) == set(ours["object"])
    ref = received(ours).follow_ref()
    assert ref is not None
    assert (ref.id, ref.actor, ref.object) == (f"{ALICE}#f1", ALICE, ACTOR)


def test_reject_names_its_type_and_goes_to_the_follower() -> None:
    follow = follow_ref_to_as(follow_id=f"{ALICE}#f1", actor=ALICE, target=ACTOR)
    assert reject_to_as(activity_id=ACT, actor=ACTOR, follow=follow, follower=ALICE) == {
        "id": ACT,
        "type": "Reject",
        "actor": ACTOR,
        "object": {"id": f"{ALICE}#f1", "type": "Follow", "actor": ALICE, "object": ACTOR},
        "to": [ALICE],
    }


def test_undo_of_a_follow_embeds_the_follow_it_takes_back() -> None:
    undo = undo_follow_to_as(
        activity_id=ACT, actor=ACTOR, follow_id=URLS.activity("f0"), target=ALICE
    )
    assert undo == {
        "id": ACT,
        "type": "Undo",
        "actor": ACTOR,
        "object": {
            "id": "https://haringey.example/activities/f0",
            "type": "Follow",
            "actor": ACTOR,
            "object": ALICE,
        },
        "to": [ALICE],
    }
    assert set(mastodon("mastodon-undo-follow.json")) <= set(undo)
    assert set(mastodon("mastodon-undo-follow.json")["object"]) == set(undo["object"])
    ref = received(undo).follow_ref()
    assert ref is not None
    assert (ref.id, ref.actor, ref.object) == (URLS.activity("f0"), ACTOR, ALICE)


def test_ignore_answers_a_join_by_its_id_to_the_joiner() -> None:
    ignore = ignore_to_as(activity_id=ACT, actor=ACTOR, join_id=f"{ALICE}#join1", joiner=ALICE)
    assert ignore == {
        "id": ACT,
        "type": "Ignore",
        "actor": ACTOR,
        "object": f"{ALICE}#join1",
        "to": [ALICE],
    }
    assert received(ignore).object_id == f"{ALICE}#join1"


# -- public -----------------------------------------------------------------------------


def test_announce_references_the_shared_object_by_id_and_is_public() -> None:
    shared = "https://other.example/events/3"
    announce = announce_to_as(
        activity_id=ACT, actor=ACTOR, followers=FOLLOWERS, object_id=shared, published=WHEN
    )
    assert announce == {
        "id": ACT,
        "type": "Announce",
        "actor": ACTOR,
        "published": "2026-02-03T19:00:05Z",
        "to": [PUBLIC],
        "cc": ["https://haringey.example/actors/network/followers"],
        "object": shared,
    }
    parsed = received(announce)
    assert PUBLIC in parsed.to and parsed.object is None and parsed.object_id == shared


def test_undo_of_an_announce_embeds_it_and_keeps_its_date() -> None:
    sent = announce_to_as(
        activity_id=URLS.activity("s1"),
        actor=ACTOR,
        followers=FOLLOWERS,
        object_id="https://other.example/events/3",
        published=WHEN,
    )
    undo = undo_announce_to_as(
        activity_id=ACT, actor=ACTOR, followers=FOLLOWERS, announce=sent, published=WHEN
    )
    assert undo == {
        "id": ACT,
        "type": "Undo",
        "actor": ACTOR,
        "published": "2026-02-03T19:00:05Z",
        "to": [PUBLIC],
        "cc": [FOLLOWERS],
        "object": sent,
    }
    parsed = received(undo)
    assert parsed.object_type == "Announce" and parsed.object_id == URLS.activity("s1")


@pytest.mark.parametrize("kind", ["Create", "Update", "Delete"])
def test_publication_embeds_our_object_publicly(kind: Any) -> None:
    obj = {"id": f"{URLS.base}/events/7", "type": "Event", "attributedTo": ACTOR, "name": "Rally"}
    if kind == "Delete":
        obj = {"id": f"{URLS.base}/events/7", "type": "Tombstone", "formerType": "Event"}
    activity = publication_to_as(
        kind, activity_id=ACT, actor=ACTOR, followers=FOLLOWERS, obj=obj, published=WHEN
    )
    assert activity == {
        "id": ACT,
        "type": kind,
        "actor": ACTOR,
        "published": "2026-02-03T19:00:05Z",
        "to": [PUBLIC],
        "cc": [FOLLOWERS],
        "object": obj,
    }
    parsed = received(activity)
    assert PUBLIC in parsed.to and parsed.object_id == obj["id"]


def test_delete_has_the_fields_of_mastodons_delete() -> None:
    tombstone = {"id": f"{URLS.base}/events/7", "type": "Tombstone", "formerType": "Event"}
    ours = publication_to_as(
        "Delete", activity_id=ACT, actor=ACTOR, followers=FOLLOWERS, obj=tombstone, published=WHEN
    )
    assert set(mastodon("mastodon-delete-note.json")) <= set(ours)


def test_actor_update_carries_the_whole_actor_from_the_actor_itself() -> None:
    actor_doc = {
        "id": ACTOR,
        "type": "Group",
        "preferredUsername": "network",
        "inbox": URLS.inbox("network"),
        "followers": FOLLOWERS,
    }
    update = actor_update_to_as(activity_id=ACT, actor_doc=actor_doc, followers=FOLLOWERS)
    assert update == {
        "id": ACT,
        "type": "Update",
        "actor": ACTOR,
        "to": [PUBLIC],
        "cc": ["https://haringey.example/actors/network/followers"],
        "object": actor_doc,
    }
    assert set(mastodon("mastodon-update-actor.json")) <= set(update)
    parsed = received(update)
    assert parsed.object_id == parsed.actor == ACTOR


def test_activities_keep_their_field_order_on_the_wire() -> None:
    """Stored bodies are resent byte for byte; the order is part of those bytes."""
    follow = follow_to_as(activity_id=ACT, actor=ACTOR, target=ALICE)
    assert list(follow) == ["id", "type", "actor", "object", "to"]
    announce = announce_to_as(
        activity_id=ACT, actor=ACTOR, followers=FOLLOWERS, object_id=ALICE, published=WHEN
    )
    assert list(announce) == ["id", "type", "actor", "published", "to", "cc", "object"]
    update = actor_update_to_as(activity_id=ACT, actor_doc={"id": ACTOR}, followers=FOLLOWERS)
    assert list(update) == ["id", "type", "actor", "to", "cc", "object"]


# -- dates and the followers collection -------------------------------------------------


def test_dates_are_written_in_utc_to_the_second() -> None:
    london_summer = timezone(timedelta(hours=1))
    moment = datetime(2026, 7, 3, 20, 0, 5, 999_999, tzinfo=london_summer)
    assert iso_utc(moment) == "2026-07-03T19:00:05Z"


def test_the_followers_collection_has_one_spelling() -> None:
    assert URLS.followers("network") == URLS.followers_of(URLS.actor("network"))
    assert URLS.followers("network") == "https://haringey.example/actors/network/followers"
