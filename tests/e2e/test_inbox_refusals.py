"""What a node's inbox refuses, and what it accepts but does nothing with.

Every request goes over real HTTP to a real node, signed (or mis-signed) by a
fediverse stand-in with ``httpsig``, an implementation we did not write. Each
test checks the status, the short JSON ``error`` a sender gets, and that the
database holds no trace beyond what the case intends (INTEROP.md sections 4,
8 and 9).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpsig  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import func, select
from starlette.responses import JSONResponse, Response

from node import follows
from node.blocks import block_domain
from node.models import (
    Follower,
    Following,
    InboundActivity,
    OutboundActivity,
    RemoteActor,
    RemoteKey,
)
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import (
    AS2,
    Account,
    FakeServer,
    fake_server,
    private_pem,
    public_pem,
)
from tests.support.nodes import Node

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
MIB = 1_048_576
SETTLE = 0.5  # seconds to let a wrongly accepted activity show an effect
TABLES: dict[str, type[Any]] = {
    "inbound": InboundActivity,
    "followers": Follower,
    "following": Following,
    "remote_actors": RemoteActor,
    "remote_keys": RemoteKey,
    "outbound": OutboundActivity,
}
NOTHING = dict.fromkeys(TABLES, 0)


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeServer]:
    """A second fediverse server, on another loopback address."""
    async with fake_server("127.0.0.2") as server:
        yield server


async def traces(node: Node) -> dict[str, int]:
    """How many rows each federation table holds."""
    async with node.ctx.sessions() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in TABLES.items()
        }


async def remote_actor_uris(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        return sorted((await session.scalars(select(RemoteActor.uri))).all())


async def settled_state(node: Node, activity_id: str) -> str:
    """Wait until the recorded activity has been processed; return its state."""
    state = ""

    async def processed() -> bool:
        nonlocal state
        async with node.ctx.sessions() as session:
            found = await session.scalar(
                select(InboundActivity.state).where(InboundActivity.uri == activity_id)
            )
        state = found or ""
        return state not in ("", "pending")

    await eventually(processed, timeout=5)
    return state


def refusal(response: httpx.Response, status: int) -> str:
    """Assert a refusal with ``status`` and a short JSON ``error``; return the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert isinstance(message, str) and 0 < len(message) <= 120
    return message


def sign(
    account: Account,
    url: str,
    body: bytes,
    *,
    content_type: str = AS2,
    date: str | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    """Headers of a POST validly signed by ``httpsig`` with any Content-Type and Date."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": date or formatdate(usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": content_type,
    }
    signer = httpsig.HeaderSigner(
        key_id or account.key_id,
        private_pem(account.key),
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest", "content-type"],
        sign_header="signature",
    )
    return dict(signer.sign(headers, method="POST", path=parts.path))


async def post_raw(url: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=content, headers=headers)


def http_date(offset_seconds: float) -> str:
    return formatdate(time.time() + offset_seconds, usegmt=True)


def activity(account: Account, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": account.new_id(),
        "type": kind,
        "actor": account.id,
        "object": obj,
        **extra,
    }


def inbox(node: Node) -> str:
    return f"{node.actor_id}/inbox"


async def become_follower(node: Node, fediverse: FakeServer, account: Account) -> None:
    assert (await account.post(inbox(node), account.follow(node.actor_id))).status_code == 202
    await fediverse.wait_for(
        lambda r: r.activity["type"] == "Accept" and r.activity["object"]["actor"] == account.id
    )


async def pending_follow_of(node: Node, account: Account) -> str:
    """Make the node follow ``account`` for real (as ``tocsin follow`` does); the Follow id."""
    remote = await follows.resolve_target(node.ctx, account.id)
    async with node.ctx.sessions() as session, session.begin():
        row = await follows.follow(node.ctx, session, remote)
        follow_id = row.follow_uri
    node.ctx.wake()
    return follow_id


async def following_states(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(Following.state))).all())


# -- the request itself: signature, digest, clock ---------------------------------------


async def test_unsigned_post_is_refused_with_401_and_nothing_stored(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    response = await post_raw(inbox(node), body, {"Content-Type": AS2})
    assert refusal(response, 401) == "request is not signed"
    assert await traces(node) == NOTHING


async def test_post_signed_with_another_key_is_refused_with_401_and_nothing_stored(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    other_key = fediverse.add_account("other", key_index=1).key
    impostor = Account(fediverse, "alice", other_key)  # alice's keyId, someone else's key
    response = await impostor.post(inbox(node), alice.follow(node.actor_id))
    assert "does not verify" in refusal(response, 401)
    # the key lookup caches alice's genuine actor and key; nothing else is kept
    assert await traces(node) == {**NOTHING, "remote_actors": 1, "remote_keys": 1}
    assert await remote_actor_uris(node) == [alice.id]


async def test_body_changed_after_signing_is_refused_with_401_before_any_key_fetch(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    headers = alice.signed_headers(inbox(node), json.dumps(follow).encode())
    tampered = json.dumps({**follow, "object": f"{node.base_url}/actors/other"}).encode()
    response = await post_raw(inbox(node), tampered, headers)
    assert refusal(response, 401) == "Digest does not match the body"
    assert await traces(node) == NOTHING


async def test_date_older_than_3900_seconds_is_refused_with_401(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    response = await alice.post(inbox(node), alice.follow(node.actor_id), date=http_date(-3960))
    assert refusal(response, 401) == "signature has expired"
    assert await traces(node) == NOTHING


async def test_date_more_than_an_hour_ahead_is_refused_with_401(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    response = await alice.post(inbox(node), alice.follow(node.actor_id), date=http_date(3660))
    assert refusal(response, 401) == "signature is dated in the future"
    assert await traces(node) == NOTHING


@pytest.mark.parametrize("offset", [-3840, 3540], ids=["64-minutes-old", "59-minutes-ahead"])
async def test_date_just_inside_the_window_is_accepted(
    start_node: NodeFactory, fediverse: FakeServer, offset: int
) -> None:
    """The control for the two refusals above: Mastodon's window, not a tighter one."""
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    response = await alice.post(inbox(node), follow, date=http_date(offset))
    assert response.status_code == 202
    assert await settled_state(node, follow["id"]) == "done"


async def test_date_at_the_end_of_the_calendar_is_refused_with_401(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(node.actor_id)
    response = await alice.post(inbox(node), follow, date="Fri, 31 Dec 9999 23:59:59 GMT")
    refusal(response, 401)
    assert await traces(node) == NOTHING


# -- who signed it --------------------------------------------------------------------------


async def test_activity_of_one_actor_signed_by_another_is_refused_with_401_and_no_effect(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    response = await bob.post(inbox(node), alice.follow(node.actor_id))
    assert refusal(response, 401) == "the activity's actor is not the owner of the signing key"
    await asyncio.sleep(SETTLE)
    assert await traces(node) == {**NOTHING, "remote_actors": 1, "remote_keys": 1}
    assert await remote_actor_uris(node) == [bob.id]  # the signer's key, never alice
    assert not fediverse.received  # no Accept went anywhere


async def test_key_on_another_host_is_refused_with_401(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    mallory = elsewhere.add_account("mallory", key_index=1)
    response = await mallory.post(inbox(node), alice.follow(node.actor_id))
    assert refusal(response, 401) == "the activity's actor is not the owner of the signing key"
    assert await traces(node) == NOTHING  # refused before mallory's key was fetched


async def test_key_on_another_host_claiming_the_actor_as_owner_is_refused_with_401(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer
) -> None:
    """A bare key document on host 2 saying it belongs to an actor on host 1."""
    node = await start_node()
    alice = fediverse.add_account("alice")
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
    response = await post_raw(inbox(node), body, sign(mallory, inbox(node), body, key_id=key_id))
    assert refusal(response, 401) == "the activity's actor is not the owner of the signing key"
    assert await traces(node) == NOTHING


async def test_activity_id_on_another_host_than_its_actor_is_refused_with_403(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = {**alice.follow(node.actor_id), "id": "http://elsewhere.example/follows/1"}
    response = await alice.post(inbox(node), follow)
    assert refusal(response, 403) == "activity id is not on the actor's host"
    # verified first (alice's key is cached), then refused before any effect
    assert await traces(node) == {**NOTHING, "remote_actors": 1, "remote_keys": 1}


# -- the body -------------------------------------------------------------------------------


async def test_malformed_json_is_refused_with_400(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()[:-1]  # no closing brace
    response = await post_raw(inbox(node), body, sign(alice, inbox(node), body))
    assert refusal(response, 400) == "invalid JSON"
    assert await traces(node) == NOTHING


@pytest.mark.parametrize("depth", [40, 100_000], ids=["past-the-limit", "past-the-parser"])
async def test_json_nested_too_deep_is_refused_with_400(
    start_node: NodeFactory, fediverse: FakeServer, depth: int
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    nested = "[" * depth + "]" * depth
    note = json.dumps(activity(alice, "Create", {"id": alice.new_id("notes"), "type": "Note"}))
    body = note.replace('"type": "Note"', f'"type": "Note", "tag": {nested}').encode()
    response = await post_raw(inbox(node), body, sign(alice, inbox(node), body))
    assert refusal(response, 400) == "JSON nested too deeply"
    assert await traces(node) == NOTHING


def oversized(account: Account, node: Node) -> bytes:
    doc = activity(account, "Like", node.actor_id, padding="x" * MIB)
    return json.dumps(doc).encode()


async def test_body_over_1_mib_with_content_length_is_refused_with_413(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = oversized(alice, node)
    response = await post_raw(inbox(node), body, sign(alice, inbox(node), body))
    assert "larger than 1048576 bytes" in refusal(response, 413)
    assert await traces(node) == NOTHING


async def test_chunked_body_over_1_mib_is_refused_with_413(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = oversized(alice, node)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    headers = sign(alice, inbox(node), body)
    response = await post_raw(inbox(node), chunks(), headers)
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "larger than 1048576 bytes" in refusal(response, 413)
    assert await traces(node) == NOTHING


async def test_text_plain_post_is_refused_with_415(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = sign(alice, inbox(node), body, content_type="text/plain")
    response = await post_raw(inbox(node), body, headers)
    assert "application/activity+json" in refusal(response, 415)
    assert await traces(node) == NOTHING


@pytest.mark.parametrize("where", ["activity", "actor-document"])
async def test_nul_character_is_refused_or_stored_but_never_a_server_error(
    start_node: NodeFactory,
    fediverse: FakeServer,
    db_kind: str,
    where: str,
    request: pytest.FixtureRequest,
) -> None:
    """A ``\\u0000`` in any string is valid JSON that PostgreSQL cannot store (JSONB and
    text alike); SQLite stores it. Either answer is fine, a 500 is not."""
    node = await start_node()
    alice = fediverse.add_account("alice")
    like = activity(alice, "Like", f"{node.base_url}/events/1")
    if where == "activity":
        like["content"] = "a\u0000b"
    else:
        doc = {**alice.document(), "summary": "a\u0000b"}
        fediverse.override["/users/alice"] = lambda: JSONResponse(doc, media_type=AS2)
    response = await alice.post(inbox(node), like)
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        assert await settled_state(node, like["id"]) == "ignored"
    else:
        refusal(response, response.status_code)
        assert (await traces(node))["inbound"] == 0


# -- accepted, but without effect -----------------------------------------------------------


async def test_unknown_activity_type_is_recorded_and_ignored(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    like = activity(alice, "Like", f"{node.base_url}/events/1")
    response = await alice.post(inbox(node), like)
    assert response.status_code == 202
    assert await settled_state(node, like["id"]) == "ignored"
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}
    assert not fediverse.received


async def test_follow_of_someone_else_is_recorded_but_adds_no_follower(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    follow = alice.follow(f"{node.base_url}/actors/somebody-else")
    response = await alice.post(inbox(node), follow)
    assert response.status_code == 202
    assert await settled_state(node, follow["id"]) == "done"
    await asyncio.sleep(SETTLE)
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}
    assert not fediverse.received  # no Accept


async def test_replayed_follow_is_recorded_once_and_accepted_once(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = sign(alice, inbox(node), body)
    assert (await post_raw(inbox(node), body, headers)).status_code == 202
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    replay = await post_raw(inbox(node), body, headers)  # the very same bytes and signature
    assert replay.status_code == 202
    await asyncio.sleep(SETTLE)
    assert [r.activity["type"] for r in fediverse.received] == ["Accept"]
    assert await traces(node) == {
        **NOTHING,
        "inbound": 1,
        "followers": 1,
        "remote_actors": 1,
        "remote_keys": 1,
        "outbound": 1,
    }


async def test_accept_of_a_follow_never_sent_adds_no_following(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    invented = {
        "id": f"{node.base_url}/activities/never-sent",
        "type": "Follow",
        "actor": node.actor_id,
        "object": alice.id,
    }
    accept = activity(alice, "Accept", invented)
    assert (await alice.post(inbox(node), accept)).status_code == 202
    assert await settled_state(node, accept["id"]) == "done"
    assert await following_states(node) == []
    assert await traces(node) == {**NOTHING, "inbound": 1, "remote_actors": 1, "remote_keys": 1}


async def test_accept_of_our_follow_embedded_by_another_actor_is_refused_with_403(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    follow_id = await pending_follow_of(node, alice)
    ours = {"id": follow_id, "type": "Follow", "actor": node.actor_id, "object": alice.id}
    accept = activity(bob, "Accept", ours)
    response = await bob.post(inbox(node), accept)
    assert refusal(response, 403) == "only the followed actor may answer a Follow"
    assert await following_states(node) == ["pending"]
    async with node.ctx.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboundActivity)) == 0


async def test_accept_of_our_follow_by_bare_id_from_another_actor_changes_nothing(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    follow_id = await pending_follow_of(node, alice)
    forged = activity(bob, "Accept", follow_id)
    assert (await bob.post(inbox(node), forged)).status_code == 202
    await settled_state(node, forged["id"])
    assert await following_states(node) == ["pending"]
    # the control: the same Accept from alice herself is honoured
    genuine = activity(alice, "Accept", follow_id)
    assert (await alice.post(inbox(node), genuine)).status_code == 202
    await settled_state(node, genuine["id"])
    assert await following_states(node) == ["accepted"]


# -- blocked servers ------------------------------------------------------------------------


async def block(node: Node, domain: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await block_domain(session, domain)
    node.ctx.blocks.invalidate()


def count_fetches(server: FakeServer, account: Account) -> list[str]:
    """Serve ``account``'s actor document as usual, noting each fetch."""
    fetches: list[str] = []
    path = urlsplit(account.id).path

    def serve() -> Response:
        fetches.append(path)
        return JSONResponse(account.document(), media_type=AS2)

    server.override[path] = serve
    return fetches


async def test_post_from_blocked_domain_is_refused_with_403_before_any_fetch(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    fetches = count_fetches(fediverse, alice)
    await block(node, fediverse.authority)
    response = await alice.post(inbox(node), alice.follow(node.actor_id))
    assert refusal(response, 403) == "blocked"
    assert fetches == []
    assert await traces(node) == NOTHING


async def test_block_of_a_host_covers_it_on_every_port(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await block(node, fediverse.host)  # "127.0.0.1": the admin names the server
    response = await alice.post(inbox(node), alice.follow(node.actor_id))
    assert refusal(response, 403) == "blocked"
    assert await traces(node) == NOTHING


# -- actors deleting and updating themselves ------------------------------------------------


async def test_self_delete_of_unknown_gone_actor_is_answered_202_and_changes_nothing(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    ghost = fediverse.add_account("ghost")
    fediverse.override["/users/ghost"] = lambda: JSONResponse({"error": "gone"}, status_code=410)
    delete = activity(
        ghost, "Delete", ghost.id, to=["https://www.w3.org/ns/activitystreams#Public"]
    )
    response = await ghost.post(inbox(node), delete)
    assert response.status_code == 202
    assert await traces(node) == NOTHING


async def test_actor_update_from_itself_changes_the_cached_name(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await become_follower(node, fediverse, alice)
    update = activity(alice, "Update", {**alice.document(), "name": "Alice Renamed"})
    assert (await alice.post(inbox(node), update)).status_code == 202
    assert await settled_state(node, update["id"]) == "done"
    async with node.ctx.sessions() as session:
        name = await session.scalar(select(RemoteActor.name).where(RemoteActor.uri == alice.id))
    assert name == "Alice Renamed"


async def test_update_of_one_actor_sent_by_another_is_refused_with_403(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    bob = fediverse.add_account("bob", key_index=1)
    await become_follower(node, fediverse, alice)
    hijack = activity(bob, "Update", {**alice.document(), "name": "Hijacked"})
    response = await bob.post(inbox(node), hijack)
    assert refusal(response, 403) == "an actor may only update itself"
    await asyncio.sleep(SETTLE)
    async with node.ctx.sessions() as session:
        name = await session.scalar(select(RemoteActor.name).where(RemoteActor.uri == alice.id))
        recorded = await session.scalars(select(InboundActivity.type))
        assert recorded.all() == ["Follow"]
    assert name == "Alice"


async def test_delete_of_actor_by_itself_removes_its_follower_row(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await become_follower(node, fediverse, alice)
    fediverse.override["/users/alice"] = lambda: JSONResponse({"error": "gone"}, status_code=410)
    delete = activity(alice, "Delete", alice.id)
    assert (await alice.post(inbox(node), delete)).status_code == 202  # verified: key cached
    assert await settled_state(node, delete["id"]) == "done"
    found = await traces(node)
    assert (found["followers"], found["remote_actors"], found["remote_keys"]) == (0, 0, 0)


# -- routes ---------------------------------------------------------------------------------


async def test_inbox_of_unknown_actor_is_404(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    url = f"{node.base_url}/actors/unknown/inbox"
    response = await alice.post(url, alice.follow(f"{node.base_url}/actors/unknown"))
    assert refusal(response, 404) == "no such actor"
    assert await traces(node) == NOTHING


async def test_get_on_an_inbox_is_405(start_node: NodeFactory) -> None:
    node = await start_node()
    for url in (inbox(node), f"{node.base_url}/inbox"):
        response = await node.client.get(url, headers={"Accept": AS2})
        refusal(response, 405)
        assert "POST" in response.headers["allow"]
    assert await traces(node) == NOTHING
