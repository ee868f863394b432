"""federation.actors: real actors and keys parse; an actor or key that would let one
host speak for another, or that other servers would refuse, is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from federation import actors
from federation.errors import ForbiddenError, MalformedError
from tests.support.payloads import (
    ACTOR_FIXTURES,
    ALICE,
    actor_doc,
    load,
)


@pytest.mark.parametrize("path", ACTOR_FIXTURES, ids=lambda p: p.stem)
def test_every_actor_fixture_parses(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    actor = actors.parse_actor(doc)
    assert actor.id == doc["id"]
    assert actor.raw is doc


def test_mastodon_actor_fields() -> None:
    actor = actors.parse_actor(load("mastodon-actor.json"))
    assert actor.type == "Person"
    assert actor.preferred_username == "alice"
    assert actor.name == "Alice"
    assert actor.inbox == f"{ALICE}/inbox"
    assert actor.shared_inbox == "https://mastodon.example/inbox"
    assert actor.followers == f"{ALICE}/followers"
    assert actor.public_key_id == f"{ALICE}#main-key"
    assert actor.public_key_pem is not None and actor.public_key_pem.startswith("-----BEGIN")
    assert actor.url == "https://mastodon.example/@alice"
    assert actor.manually_approves_followers is False


def test_gotosocial_actor_without_shared_inbox_is_read_with_its_separate_key() -> None:
    actor = actors.parse_actor(load("gotosocial-actor.json"))
    assert actor.shared_inbox is None
    assert actor.public_key_id == "https://gts.example/users/1happyturtle/main-key"
    assert actor.manually_approves_followers is True


def test_top_level_shared_inbox_is_read_when_endpoints_is_absent() -> None:
    doc = actor_doc(sharedInbox="https://mastodon.example/inbox")
    del doc["endpoints"]
    assert actors.parse_actor(doc).shared_inbox == "https://mastodon.example/inbox"


def test_gotosocial_key_stub_yields_its_key() -> None:
    key_id = "https://gts.example/users/1happyturtle/main-key"
    key = actors.parse_public_key(load("gotosocial-key.json"), key_id)
    assert key.id == key_id
    assert key.owner == "https://gts.example/users/1happyturtle"


def test_key_is_found_in_a_full_actor_by_its_fragment_id() -> None:
    key = actors.parse_public_key(load("mastodon-actor.json"), f"{ALICE}#main-key")
    assert key.owner == ALICE


def test_bare_key_document_yields_its_key() -> None:
    key_id = "https://keys.example/keys/1"
    doc = {"id": key_id, "owner": "https://keys.example/u/1", "publicKeyPem": "-----BEGIN X"}
    assert actors.parse_public_key(doc, key_id).owner == "https://keys.example/u/1"


def test_bare_key_document_owned_from_another_host_is_rejected() -> None:
    key_id = "https://keys.example/keys/1"
    doc = {"id": key_id, "owner": "https://evil.example/u/1", "publicKeyPem": "-----BEGIN X"}
    with pytest.raises(ForbiddenError):
        actors.parse_public_key(doc, key_id)


def test_key_missing_from_document_is_rejected() -> None:
    with pytest.raises(MalformedError):
        actors.parse_public_key(load("mastodon-actor.json"), f"{ALICE}#other-key")


def test_actor_with_public_key_owner_on_another_host_is_rejected() -> None:
    doc = actor_doc()
    doc["publicKey"]["owner"] = "https://evil.example/users/alice"
    with pytest.raises(ForbiddenError):
        actors.parse_actor(doc)


def test_actor_with_public_key_id_on_another_host_is_rejected() -> None:
    doc = actor_doc()
    doc["publicKey"]["id"] = "https://evil.example/keys/alice"
    with pytest.raises(ForbiddenError):
        actors.parse_actor(doc)


def test_actor_key_on_differently_spelled_same_host_is_accepted() -> None:
    doc = actor_doc()
    doc["publicKey"]["id"] = "https://MASTODON.example./users/alice#main-key"
    assert actors.parse_actor(doc).public_key_id == doc["publicKey"]["id"]


def test_actor_key_without_pem_is_rejected() -> None:
    doc = actor_doc()
    del doc["publicKey"]["publicKeyPem"]
    with pytest.raises(MalformedError):
        actors.parse_actor(doc)


def test_actor_without_key_parses_but_cannot_sign() -> None:
    doc = actor_doc()
    del doc["publicKey"]
    assert actors.parse_actor(doc).public_key_id is None


@pytest.mark.parametrize(
    "username", ["", "-alice", "alice-", ".alice", "ali ce", "álice", "al@ce", "a" * 129, 7]
)
def test_actor_with_bad_preferred_username_is_rejected(username: Any) -> None:
    with pytest.raises(MalformedError, match="preferredUsername"):
        actors.parse_actor(actor_doc(preferredUsername=username))


@pytest.mark.parametrize("username", ["a", "_", "alice", "a.b-c_d", "1happyturtle", "a" * 128])
def test_actor_with_good_preferred_username_is_accepted(username: str) -> None:
    assert actors.parse_actor(actor_doc(preferredUsername=username)).preferred_username == username


def test_actor_missing_inbox_is_rejected() -> None:
    doc = actor_doc()
    del doc["inbox"]
    with pytest.raises(MalformedError, match="inbox"):
        actors.parse_actor(doc)


@pytest.mark.parametrize("inbox", ["ftp://mastodon.example/inbox", "inbox", "javascript:x()"])
def test_actor_inbox_that_is_not_http_is_rejected(inbox: str) -> None:
    with pytest.raises(MalformedError, match="inbox"):
        actors.parse_actor(actor_doc(inbox=inbox))


def test_actor_shared_inbox_that_is_not_http_is_rejected() -> None:
    with pytest.raises(MalformedError, match="sharedInbox"):
        actors.parse_actor(actor_doc(endpoints={"sharedInbox": "file:///etc/passwd"}))


@pytest.mark.parametrize("kind", ["Note", "Tombstone", None, ["Key"]])
def test_actor_of_a_non_actor_type_is_rejected(kind: Any) -> None:
    with pytest.raises(MalformedError):
        actors.parse_actor(actor_doc(type=kind))


def test_actor_display_text_is_truncated_not_rejected() -> None:
    actor = actors.parse_actor(actor_doc(name="n" * 5000, summary="s" * 100_000))
    assert actor.name is not None and len(actor.name) == actors.MAX_NAME_LENGTH
    assert actor.summary is not None and len(actor.summary) == actors.MAX_TEXT_LENGTH


def test_actor_optional_links_that_are_junk_become_none() -> None:
    actor = actors.parse_actor(actor_doc(outbox=12, followers="not a url", url={"href": "ftp://x"}))
    assert (actor.outbox, actor.followers, actor.url) == (None, None, None)


def test_actor_url_given_as_link_objects_is_read() -> None:
    url = [{"type": "Link", "mediaType": "text/html", "href": "https://mastodon.example/@a"}]
    assert actors.parse_actor(actor_doc(url=url)).url == "https://mastodon.example/@a"


def test_actor_without_preferred_username_parses_with_an_empty_one() -> None:
    doc = actor_doc()
    del doc["preferredUsername"]
    actor = actors.parse_actor(doc)
    assert actor.preferred_username == "" and actor.public_key_id is not None
