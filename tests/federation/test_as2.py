"""federation.as2: real-world activities parse; every origin and shape violation
is refused."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from federation import actors, as2
from federation.errors import ForbiddenError, MalformedError
from tests.support.payloads import (
    ACTIVITY_FIXTURES,
    ACTOR_FIXTURES,
    ALICE,
    KEY_FIXTURES,
    NODE,
    load,
)


def create_doc(obj: dict[str, Any] | str, **changes: Any) -> dict[str, Any]:
    doc = {"id": f"{ALICE}/statuses/1/activity", "type": "Create", "actor": ALICE, "object": obj}
    doc.update(changes)
    return doc


def test_fixture_directory_holds_all_kinds() -> None:
    assert ACTIVITY_FIXTURES and ACTOR_FIXTURES and KEY_FIXTURES
    assert {p.name for p in ACTIVITY_FIXTURES} >= {
        "mastodon-follow.json",
        "mastodon-undo-follow.json",
        "mastodon-vote.json",
        "mobilizon-create-event.json",
        "gancio-create-event.json",
    }


@pytest.mark.parametrize("path", ACTIVITY_FIXTURES, ids=lambda p: p.stem)
def test_every_activity_fixture_parses_and_passes_origin_checks(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    activity = as2.parse_activity(doc)
    as2.check_activity_origin(activity)
    assert activity.id == doc["id"]
    assert activity.type == doc["type"]
    assert activity.raw is doc


def test_follow_object_is_a_bare_id() -> None:
    follow = as2.parse_activity(load("mastodon-follow.json"))
    assert follow.object_id == NODE
    assert follow.object is None and follow.object_type is None


def test_update_of_an_actor_embeds_a_parsable_actor() -> None:
    update = as2.parse_activity(load("mastodon-update-actor.json"))
    assert update.object_type == "Person" and update.object is not None
    assert actors.parse_actor(update.object).name == "Alice (she/her)"


def test_delete_of_an_actor_names_the_actor_itself() -> None:
    delete = as2.parse_activity(load("mastodon-delete-actor.json"))
    as2.check_activity_origin(delete)
    assert delete.object_id == delete.actor == ALICE


def test_undo_refers_to_the_embedded_follow() -> None:
    undo = as2.parse_activity(load("mastodon-undo-follow.json"))
    assert undo.follow_ref() == as2.FollowRef(
        "https://mastodon.example/0c3c1f5e-6f0b-4b43-9c49-2f0d0c1b7a11", ALICE, NODE
    )


def test_accept_refers_to_our_follow() -> None:
    accept = as2.parse_activity(load("mastodon-accept-follow.json"))
    ref = accept.follow_ref()
    assert ref is not None and ref.actor == NODE and ref.object == ALICE


def test_accept_with_a_bare_follow_id_gives_only_the_id() -> None:
    accept = as2.parse_activity(
        {"id": f"{ALICE}#accepts/1", "type": "Accept", "actor": ALICE, "object": f"{NODE}/f/1"}
    )
    assert accept.follow_ref() == as2.FollowRef(f"{NODE}/f/1", None, None)


def test_follow_ref_of_a_non_follow_object_is_none() -> None:
    create = as2.parse_activity(load("mastodon-vote.json"))
    assert create.follow_ref() is None


def test_audience_given_as_a_single_string_becomes_a_tuple() -> None:
    vote = as2.parse_activity(load("mastodon-vote.json"))
    assert vote.to == (NODE,)
    assert vote.cc == ()


def test_actor_given_as_embedded_object_is_read_by_id() -> None:
    doc = load("mastodon-follow.json") | {"actor": {"id": ALICE, "type": "Person"}}
    assert as2.parse_activity(doc).actor == ALICE


def test_embedded_object_without_type_is_kept() -> None:
    activity = as2.parse_activity(create_doc({"id": f"{ALICE}/statuses/1"}))
    assert activity.object_type is None


@pytest.mark.parametrize(
    "parse", [as2.parse_activity, actors.parse_actor], ids=["activity", "actor"]
)
@pytest.mark.parametrize("doc", [[], "a string", None, 42, [{"id": ALICE}]])
def test_non_object_input_is_rejected(parse: Any, doc: Any) -> None:
    with pytest.raises(MalformedError):
        parse(doc)


@pytest.mark.parametrize("key", ["id", "type", "actor"])
def test_activity_missing_a_required_field_is_rejected(key: str) -> None:
    doc = load("mastodon-follow.json")
    del doc[key]
    with pytest.raises(MalformedError):
        as2.parse_activity(doc)


@pytest.mark.parametrize(
    "bad_id", ["javascript:alert(1)", "/relative", "https://", "https://a.example/x y", 42]
)
def test_activity_id_that_is_not_an_http_url_is_rejected(bad_id: Any) -> None:
    with pytest.raises(MalformedError):
        as2.parse_activity(load("mastodon-follow.json") | {"id": bad_id})


def test_over_long_id_is_rejected_not_truncated() -> None:
    long_id = "https://mastodon.example/" + "a" * as2.MAX_URL_LENGTH
    with pytest.raises(MalformedError):
        as2.parse_activity(load("mastodon-follow.json") | {"id": long_id})


def test_several_objects_are_rejected() -> None:
    doc = load("mastodon-follow.json") | {"object": [NODE, "https://other.example/actor"]}
    with pytest.raises(MalformedError):
        as2.parse_activity(doc)


def test_object_of_the_wrong_json_type_is_rejected() -> None:
    with pytest.raises(MalformedError):
        as2.parse_activity(load("mastodon-follow.json") | {"object": 7})


def test_over_long_to_array_is_rejected() -> None:
    """Rejected, not capped: cutting `to` could drop Public or a recipient."""
    to = [f"https://mastodon.example/users/u{n}" for n in range(as2.MAX_ITEMS + 1)]
    with pytest.raises(MalformedError, match="to"):
        as2.parse_activity(load("mastodon-follow.json") | {"to": to})


def test_to_array_at_the_cap_is_accepted() -> None:
    to = [f"https://mastodon.example/users/u{n}" for n in range(as2.MAX_ITEMS)]
    assert len(as2.parse_activity(load("mastodon-follow.json") | {"to": to}).to) == 100


def test_over_long_tag_array_in_an_embedded_object_is_rejected() -> None:
    doc = load("gancio-create-event.json")
    doc["object"]["tag"] = [{"type": "Hashtag", "name": f"#t{n}"} for n in range(101)]
    with pytest.raises(MalformedError, match="tag"):
        as2.parse_activity(doc)


def test_deeply_nested_document_is_rejected() -> None:
    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(as2.MAX_DEPTH + 1):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(MalformedError, match="nested"):
        as2.parse_activity(load("mastodon-follow.json") | {"junk": nested})


def test_activity_id_on_another_host_than_its_actor_is_rejected() -> None:
    doc = load("mastodon-follow.json") | {"id": "https://evil.example/follows/1"}
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


@pytest.mark.parametrize("kind", ["Create", "Update", "Delete"])
def test_embedded_object_id_on_another_host_is_rejected(kind: str) -> None:
    doc = create_doc({"id": "https://victim.example/notes/1", "type": "Note"}, type=kind)
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


@pytest.mark.parametrize("kind", ["Update", "Delete", "Undo"])
def test_object_referenced_by_id_on_another_host_is_rejected(kind: str) -> None:
    doc = create_doc("https://victim.example/notes/1", type=kind)
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


def test_create_referencing_a_remote_object_by_id_is_left_to_fetch_from_origin() -> None:
    as2.check_activity_origin(as2.parse_activity(create_doc("https://other.example/notes/1")))


@pytest.mark.parametrize("kind", ["Create", "Update", "Delete"])
def test_embedded_object_without_id_is_rejected(kind: str) -> None:
    doc = create_doc({"type": "Note", "content": "hi"}, type=kind)
    with pytest.raises(MalformedError):
        as2.check_activity_origin(as2.parse_activity(doc))


def test_create_of_object_attributed_to_another_host_is_rejected() -> None:
    obj = {"id": f"{ALICE}/statuses/1", "type": "Note", "attributedTo": "https://v.example/u/b"}
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(create_doc(obj)))


def test_update_of_another_actor_on_the_same_host_is_rejected() -> None:
    doc = load("mastodon-update-actor.json")
    doc["object"]["id"] = "https://mastodon.example/users/bob"
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


def test_undo_of_another_actors_follow_is_rejected() -> None:
    doc = load("mastodon-undo-follow.json")
    doc["object"]["actor"] = "https://mastodon.example/users/bob"
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


def test_undo_of_an_embedded_follow_without_id_is_matched_later() -> None:
    doc = load("mastodon-undo-follow.json")
    del doc["object"]["id"]
    undo = as2.parse_activity(doc)
    as2.check_activity_origin(undo)
    assert undo.follow_ref() == as2.FollowRef(None, ALICE, NODE)


@pytest.mark.parametrize("name", ["mastodon-accept-follow.json", "mastodon-reject-follow.json"])
def test_answer_to_a_follow_addressed_to_another_actor_is_rejected(name: str) -> None:
    doc = load(name)
    doc["object"]["object"] = "https://mastodon.example/users/bob"
    with pytest.raises(ForbiddenError):
        as2.check_activity_origin(as2.parse_activity(doc))


def test_differently_spelled_same_host_is_treated_as_the_same_host() -> None:
    doc = load("mastodon-follow.json") | {
        "id": "https://Mastodon.EXAMPLE./follows/1",
        "actor": "https://mastodon.example:443/users/alice",
    }
    as2.check_activity_origin(as2.parse_activity(doc))


def test_idna_and_unicode_host_are_treated_as_the_same_host() -> None:
    doc = load("mastodon-follow.json") | {
        "id": "https://bücher.example/follows/1",
        "actor": "https://xn--bcher-kva.example/users/alice",
    }
    as2.check_activity_origin(as2.parse_activity(doc))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.example/x", "https://a.example/x"),
        ({"id": "https://a.example/x", "type": "Note"}, "https://a.example/x"),
        ({"type": "Note"}, None),
        ("", None),
        (None, None),
        (["https://a.example/x"], None),
        (3, None),
    ],
)
def test_id_of_reads_an_id_or_an_embedded_object(value: Any, expected: str | None) -> None:
    assert as2.id_of(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(None, []), ("a", ["a"]), (["a", "b"], ["a", "b"]), ({}, [{}])]
)
def test_as_list_treats_one_and_many_alike(value: Any, expected: list[Any]) -> None:
    assert as2.as_list(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("a", "a"), (["", 3, "b", "c"], "b"), ([], None), (None, None)]
)
def test_first_str_picks_the_first_non_empty_string(value: Any, expected: str | None) -> None:
    assert as2.first_str(value) == expected


def test_accept_header_names_both_as_media_types() -> None:
    assert as2.AS_ACCEPT.split(", ") == [as2.AS_MEDIA_TYPE, as2.LD_MEDIA_TYPE]


def test_federation_modules_do_not_import_node() -> None:
    modules = sorted(Path(as2.__file__).parent.glob("*.py"))
    assert len(modules) > 10
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "node" or n.startswith("node.") for n in names)
