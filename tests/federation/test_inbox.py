"""federation.inbox: the wire checks of an inbox POST (content type, body size,
signature, signer = actor, origin) and the activity router, with real signatures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.as2 import Activity, parse_activity
from federation.errors import (
    ForbiddenError,
    MalformedError,
    SignatureError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from federation.inbox import (
    MAX_INBOX_BODY,
    ActivityRouter,
    check_inbox_content_type,
    read_inbox_body,
    verify_inbox_post,
)
from federation.signed import SignedRequest
from tests.support.signing import KEY_ID, NOW, OWNER, Lookup, lookup_of, our_post

INBOX = "https://node.example/inbox"
FOLLOW = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "id": f"{OWNER}/follows/1",
    "type": "Follow",
    "actor": OWNER,
    "object": "https://node.example/actor",
}


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def signed_post(key: rsa.RSAPrivateKey, doc: dict[str, Any] = FOLLOW) -> SignedRequest:
    return our_post(key, url=INBOX, body=body_of(doc))


@dataclass
class Blocklist:
    hosts: frozenset[str]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str) -> bool:
        self.asked.append(host)
        return host in self.hosts


# --- verify_inbox_post ---------------------------------------------------------------------


async def test_follow_signed_by_its_actor_is_verified(key: rsa.RSAPrivateKey) -> None:
    verified = await verify_inbox_post(signed_post(key), key_lookup=lookup_of(key), now=NOW)
    assert verified.activity.type == "Follow"
    assert verified.activity.id == FOLLOW["id"]
    assert (verified.signer.key_id, verified.signer.owner) == (KEY_ID, OWNER)


async def test_unsigned_post_is_refused_without_a_key_lookup() -> None:
    req = SignedRequest("POST", "/inbox", "", {"Host": "node.example"}, body_of(FOLLOW))
    lookup = Lookup([])
    with pytest.raises(SignatureError, match="not signed"):
        await verify_inbox_post(req, key_lookup=lookup, now=NOW)
    assert lookup.calls == []


async def test_activity_whose_actor_is_not_the_signer_is_refused(key: rsa.RSAPrivateKey) -> None:
    lookup = Lookup([key.public_key()], owner="https://tocsin.example/someone-else")
    with pytest.raises(SignatureError) as refused:
        await verify_inbox_post(signed_post(key), key_lookup=lookup, now=NOW)
    assert refused.value.public_message == (
        "the activity's actor is not the owner of the signing key"
    )
    assert refused.value.status_code == 401


async def test_blocked_server_is_refused_before_its_key_is_fetched(
    key: rsa.RSAPrivateKey,
) -> None:
    lookup, blocked = lookup_of(key), Blocklist(frozenset({"tocsin.example"}))
    with pytest.raises(ForbiddenError) as refused:
        await verify_inbox_post(signed_post(key), key_lookup=lookup, now=NOW, is_blocked=blocked)
    assert (refused.value.status_code, refused.value.public_message) == (403, "blocked")
    assert blocked.asked == ["tocsin.example"]
    assert lookup.calls == []


async def test_server_not_blocked_is_verified(key: rsa.RSAPrivateKey) -> None:
    blocked = Blocklist(frozenset({"elsewhere.example"}))
    verified = await verify_inbox_post(
        signed_post(key), key_lookup=lookup_of(key), now=NOW, is_blocked=blocked
    )
    assert verified.activity.actor == OWNER


async def test_activity_with_an_id_on_another_host_is_refused(key: rsa.RSAPrivateKey) -> None:
    doc = {**FOLLOW, "id": "https://elsewhere.example/follows/1"}
    with pytest.raises(ForbiddenError, match="not on the actor's host"):
        await verify_inbox_post(signed_post(key, doc), key_lookup=lookup_of(key), now=NOW)


async def test_signed_body_that_is_not_an_activity_is_malformed(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key, url=INBOX, body=b'["not", "an", "object"]')
    with pytest.raises(MalformedError):
        await verify_inbox_post(req, key_lookup=lookup_of(key), now=NOW)


async def test_signed_body_over_the_cap_is_too_large(key: rsa.RSAPrivateKey) -> None:
    padded = {**FOLLOW, "summary": "x" * MAX_INBOX_BODY}
    with pytest.raises(TooLargeError):
        await verify_inbox_post(signed_post(key, padded), key_lookup=lookup_of(key), now=NOW)


# --- content type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/json; charset=utf-8",
        "Application/Activity+JSON",
    ],
)
def test_activity_content_types_are_accepted(content_type: str) -> None:
    check_inbox_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", ["", "text/html", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_other_content_types_are_refused_with_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as refused:
        check_inbox_content_type(content_type)
    assert refused.value.status_code == 415
    assert refused.value.public_message == "send activities as application/activity+json"


# --- body size -----------------------------------------------------------------------------


class Chunks:
    """A request body arriving in chunks; counts how many were read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.read += 1
            yield chunk


TOO_LARGE = f"activities larger than {MAX_INBOX_BODY} bytes are refused"


async def test_body_up_to_the_cap_is_read_whole() -> None:
    chunks = Chunks([b"a" * (MAX_INBOX_BODY - 1), b"b"])
    assert await read_inbox_body(str(MAX_INBOX_BODY), chunks) == b"a" * (MAX_INBOX_BODY - 1) + b"b"


async def test_declared_length_over_the_cap_is_refused_before_reading() -> None:
    chunks = Chunks([b"{}"])
    with pytest.raises(TooLargeError) as refused:
        await read_inbox_body(str(MAX_INBOX_BODY + 1), chunks)
    assert (refused.value.status_code, refused.value.public_message) == (413, TOO_LARGE)
    assert chunks.read == 0


@pytest.mark.parametrize("declared", [None, "", "12", "chunked"])
async def test_body_passing_the_cap_is_refused_without_reading_on(declared: str | None) -> None:
    chunks = Chunks([b"x" * 65_536] * 32)  # 2 MiB in 64 KiB chunks
    with pytest.raises(TooLargeError, match="over"):
        await read_inbox_body(declared, chunks)
    assert chunks.read == MAX_INBOX_BODY // 65_536 + 1


# --- ActivityRouter ------------------------------------------------------------------------


def activity(kind: str) -> Activity:
    return parse_activity({**FOLLOW, "type": kind})


async def test_router_runs_the_handler_for_the_activity_type_with_its_context() -> None:
    router: ActivityRouter[list[str]] = ActivityRouter()
    seen: list[str] = []

    @router.on("Follow")
    async def on_follow(act: Activity, context: list[str]) -> None:
        context.append(act.id)

    assert await router.dispatch(activity("Follow"), seen) is True
    assert seen == [FOLLOW["id"]]


async def test_router_reports_an_activity_type_nobody_handles() -> None:
    router: ActivityRouter[list[str]] = ActivityRouter()
    seen: list[str] = []

    @router.on("Follow")
    async def on_follow(act: Activity, context: list[str]) -> None:
        context.append(act.id)

    assert await router.dispatch(activity("Like"), seen) is False
    assert seen == []


def test_router_refuses_a_second_handler_for_one_type() -> None:
    router: ActivityRouter[None] = ActivityRouter()

    async def handler(act: Activity, context: None) -> None:
        return None

    router.on("Follow")(handler)
    with pytest.raises(ValueError, match="already registered"):
        router.on("Follow")(handler)
