"""What a node's inbox refuses for the request's signature, Digest, clock and
signer (docs/interop.md, "Incoming verification").

Each case checks the status, the short JSON ``error`` a sender gets, and that
the database holds no trace beyond the signer's cached actor and key, when the
node had to fetch them to verify. Helpers: ``tests.support.inbox``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.responses import JSONResponse

from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import AS2, Account, FakeServer, public_pem
from tests.support.inbox import (
    NOTHING,
    SETTLE,
    SIGNER_CACHED,
    http_date,
    inbox,
    post_raw,
    refusal,
    remote_actor_uris,
    settled_state,
    sign,
    traces,
)
from tests.support.nodes import Node


@dataclass(frozen=True)
class World:
    node: Node
    fediverse: FakeServer
    elsewhere: FakeServer  # a second fediverse server, on another loopback address


@dataclass(frozen=True)
class Sent:
    response: httpx.Response
    cached: list[str] = field(default_factory=list)  # actors fetched to verify the signature


@dataclass(frozen=True)
class Refused:
    send: Callable[[World], Awaitable[Sent]]
    status: int
    says: str
    exact: bool = True  # else ``says`` is a part of the message
    settle: bool = False  # wait, then check that no effect showed up late


async def unsigned(world: World) -> Sent:
    alice = world.fediverse.add_account("alice")
    body = json.dumps(alice.follow(world.node.actor_id)).encode()
    return Sent(await post_raw(inbox(world.node), body, {"Content-Type": AS2}))


async def body_changed_after_signing(world: World) -> Sent:
    node, alice = world.node, world.fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    headers = alice.signed_headers(inbox(node), json.dumps(follow).encode())
    tampered = json.dumps({**follow, "object": f"{node.base_url}/actors/other"}).encode()
    return Sent(await post_raw(inbox(node), tampered, headers))  # refused before any key fetch


def dated(date: Callable[[], str]) -> Callable[[World], Awaitable[Sent]]:
    async def send(world: World) -> Sent:
        alice = world.fediverse.add_account("alice")
        follow = alice.follow(world.node.actor_id)
        return Sent(await alice.post(inbox(world.node), follow, date=date()))

    return send


async def signed_with_another_key(world: World) -> Sent:
    alice = world.fediverse.add_account("alice")
    other_key = world.fediverse.add_account("other", key_index=1).key
    impostor = Account(world.fediverse, "alice", other_key)  # alice's keyId, another key
    response = await impostor.post(inbox(world.node), alice.follow(world.node.actor_id))
    return Sent(response, cached=[alice.id])  # alice's genuine actor and key


async def actor_signed_by_another(world: World) -> Sent:
    alice = world.fediverse.add_account("alice")
    bob = world.fediverse.add_account("bob", key_index=1)
    response = await bob.post(inbox(world.node), alice.follow(world.node.actor_id))
    return Sent(response, cached=[bob.id])  # the signer's key, never alice


async def key_on_another_host(world: World) -> Sent:
    alice = world.fediverse.add_account("alice")
    mallory = world.elsewhere.add_account("mallory", key_index=1)
    response = await mallory.post(inbox(world.node), alice.follow(world.node.actor_id))
    return Sent(response)  # refused before mallory's key was fetched


async def key_on_another_host_claiming_the_actor(world: World) -> Sent:
    """A bare key document on host 2 saying it belongs to an actor on host 1."""
    node, elsewhere = world.node, world.elsewhere
    alice = world.fediverse.add_account("alice")
    mallory = elsewhere.add_account("mallory", key_index=1)
    key_id = f"{elsewhere.base}/users/alice-key"
    key_doc = {
        "@context": "https://w3id.org/security/v1",
        "id": key_id,
        "type": "Key",
        "owner": alice.id,
        "publicKeyPem": public_pem(mallory.key),
    }
    elsewhere.override["/users/alice-key"] = lambda: JSONResponse(key_doc, media_type=AS2)
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = sign(mallory, inbox(node), body, key_id=key_id)
    return Sent(await post_raw(inbox(node), body, headers))


async def activity_id_on_another_host(world: World) -> Sent:
    alice = world.fediverse.add_account("alice")
    follow = {**alice.follow(world.node.actor_id), "id": "http://elsewhere.example/follows/1"}
    response = await alice.post(inbox(world.node), follow)
    return Sent(response, cached=[alice.id])  # verified first, then refused before any effect


NOT_THE_OWNER = "the activity's actor is not the owner of the signing key"
REFUSED = {
    "unsigned-401": Refused(unsigned, 401, "request is not signed"),
    "body-changed-after-signing-401": Refused(
        body_changed_after_signing, 401, "Digest does not match the body"
    ),
    "date-older-than-3900-seconds-401": Refused(
        dated(lambda: http_date(-3960)), 401, "signature has expired"
    ),
    "date-more-than-an-hour-ahead-401": Refused(
        dated(lambda: http_date(3660)), 401, "signature is dated in the future"
    ),
    "date-at-the-end-of-the-calendar-401": Refused(
        dated(lambda: "Fri, 31 Dec 9999 23:59:59 GMT"), 401, "signature is dated in the future"
    ),
    "signed-with-another-key-401": Refused(signed_with_another_key, 401, "does not verify", False),
    "actor-signed-by-another-401": Refused(
        actor_signed_by_another, 401, NOT_THE_OWNER, settle=True
    ),
    "key-on-another-host-401": Refused(key_on_another_host, 401, NOT_THE_OWNER),
    # the keyId's host is not the actor's: refused before the key is fetched
    "key-on-another-host-claiming-the-actor-401": Refused(
        key_on_another_host_claiming_the_actor, 401, NOT_THE_OWNER
    ),
    "activity-id-on-another-host-than-its-actor-403": Refused(
        activity_id_on_another_host, 403, "activity id is not on the actor's host"
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
async def test_request_is_refused_with_its_reason_and_leaves_no_trace(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer, case: Refused
) -> None:
    node = await start_node()
    sent = await case.send(World(node, fediverse, elsewhere))
    message = refusal(sent.response, case.status)
    assert message == case.says if case.exact else case.says in message
    if case.settle:
        await asyncio.sleep(SETTLE)
    assert await traces(node) == (SIGNER_CACHED if sent.cached else NOTHING)
    assert await remote_actor_uris(node) == sent.cached
    assert not fediverse.received  # no Accept went anywhere


@pytest.mark.parametrize("offset", [-3840, 3540], ids=["64-minutes-old", "59-minutes-ahead"])
async def test_date_just_inside_the_window_is_accepted(
    start_node: NodeFactory, fediverse: FakeServer, offset: int
) -> None:
    """The control for the clock refusals: Mastodon's window, not a tighter one."""
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    response = await alice.post(inbox(node), follow, date=http_date(offset))
    assert response.status_code == 202
    assert await settled_state(node, follow["id"]) == "done"
