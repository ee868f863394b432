"""Bounded JSON parsing: depth, container size, and strict UTF-8 JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from federation.errors import MalformedError
from federation.jsonlimits import DEFAULT_MAX_ARRAY, DEFAULT_MAX_DEPTH, loads_limited

CREATE_EVENT: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/activitystreams", {"tocsin": "https://t.example/ns#"}],
    "id": "https://a.example/activities/1",
    "type": "Create",
    "actor": "https://a.example/actor",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "object": {
        "id": "https://a.example/events/1",
        "type": "Event",
        "name": "Tenants' meeting — ünïcödé",
        "location": {"type": "Place", "address": {"type": "PostalAddress", "postalCode": "E1"}},
        "tag": [{"type": "Hashtag", "name": "#housing"}],
        "attendees": 12,
        "sensitive": False,
        "endTime": None,
    },
}


def nested(depth: int, opener: str = "[") -> bytes:
    """``depth`` containers, one inside the other."""
    if opener == "[":
        return ("[" * depth + "]" * depth).encode()
    return ('{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)).encode()


def test_loads_limited_parses_a_typical_activity() -> None:
    assert loads_limited(json.dumps(CREATE_EVENT).encode()) == CREATE_EVENT


@pytest.mark.parametrize(("body", "value"), [(b"1", 1), (b'"x"', "x"), (b"null", None)])
def test_loads_limited_accepts_top_level_scalars(body: bytes, value: Any) -> None:
    assert loads_limited(body) == value


@pytest.mark.parametrize("opener", ["[", "{"])
def test_nesting_up_to_the_limit_is_accepted(opener: str) -> None:
    loads_limited(nested(DEFAULT_MAX_DEPTH, opener))


@pytest.mark.parametrize("opener", ["[", "{"])
def test_nesting_one_past_the_limit_is_refused(opener: str) -> None:
    with pytest.raises(MalformedError, match="nested deeper than 32"):
        loads_limited(nested(DEFAULT_MAX_DEPTH + 1, opener))


@pytest.mark.parametrize("depth", [1_000, 100_000, 1_000_000])
def test_adversarial_depth_is_refused_without_a_recursion_error(depth: int) -> None:
    with pytest.raises(MalformedError, match="nested"):
        loads_limited(nested(depth))


def test_adversarial_depth_is_refused_even_from_deep_in_the_stack() -> None:
    def descend(levels: int) -> None:
        if levels:
            descend(levels - 1)
        else:
            with pytest.raises(MalformedError):
                loads_limited(nested(200_000, "{"))

    descend(sys.getrecursionlimit() - 100)


def test_an_array_at_the_limit_is_accepted() -> None:
    assert len(loads_limited(json.dumps([0] * DEFAULT_MAX_ARRAY).encode())) == DEFAULT_MAX_ARRAY


@pytest.mark.parametrize(
    "value",
    [
        [0] * (DEFAULT_MAX_ARRAY + 1),
        {"oneOf": [{"name": str(n)} for n in range(DEFAULT_MAX_ARRAY + 1)]},
        {"object": {"tag": [[] for _ in range(DEFAULT_MAX_ARRAY + 1)]}},
        {f"k{n}": n for n in range(DEFAULT_MAX_ARRAY + 1)},
    ],
    ids=["top-level", "poll-options", "nested", "object-members"],
)
def test_a_container_over_the_limit_is_refused(value: Any) -> None:
    with pytest.raises(MalformedError, match="over the limit of 1000"):
        loads_limited(json.dumps(value).encode())


def test_limits_are_configurable() -> None:
    loads_limited(b"[[1, 2]]", max_depth=2, max_array=2)
    with pytest.raises(MalformedError):
        loads_limited(b"[[1, 2, 3]]", max_depth=2, max_array=2)
    with pytest.raises(MalformedError):
        loads_limited(b"[[[]]]", max_depth=2, max_array=2)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"{'single': 'quotes'}",
        b'{"a": 1} trailing',
        b'{"a": 1}{"b": 2}',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": -Infinity}',
        b"\xff\xfe{\x00}\x00",  # UTF-16 with a BOM
        b'{"name": "caf\xe9"}',  # Latin-1, not UTF-8
        b"\xef\xbb\xbf{}",  # UTF-8 BOM
        b'{"n": ' + b"9" * 5000 + b"}",  # over Python's int-digit limit
    ],
)
def test_invalid_json_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedError):
        loads_limited(body)


def test_public_message_does_not_echo_the_payload() -> None:
    with pytest.raises(MalformedError) as caught:
        loads_limited(b'{"secret": <script>}')
    assert caught.value.public_message == "invalid JSON"
