"""What a node's inbox refuses for the body's size, format and JSON, and for
routes that are no inbox (docs/interop.md, "Incoming verification" and
"Inbox, deduplication and retries").

Each case checks the status, the short JSON ``error`` a sender gets, and that
the database holds nothing. Helpers: ``tests.support.inbox``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from starlette.responses import JSONResponse

from tests.e2e.conftest import NodeFactory
from tests.support.fediverse import AS2, Account, FakeServer
from tests.support.inbox import (
    MIB,
    NOTHING,
    activity,
    inbox,
    post_raw,
    refusal,
    settled_state,
    sign,
    traces,
)
from tests.support.nodes import Node

Send = Callable[[Node, Account], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Refused:
    send: Send
    status: int
    says: str
    exact: bool = True  # else ``says`` is a part of the message


async def malformed_json(node: Node, alice: Account) -> httpx.Response:
    body = json.dumps(alice.follow(node.actor_id)).encode()[:-1]  # no closing brace
    return await post_raw(inbox(node), body, sign(alice, inbox(node), body))


def nested(depth: int) -> Send:
    async def send(node: Node, alice: Account) -> httpx.Response:
        brackets = "[" * depth + "]" * depth
        note = activity(alice, "Create", {"id": alice.new_id("notes"), "type": "Note"})
        text = json.dumps(note).replace('"type": "Note"', f'"type": "Note", "tag": {brackets}')
        body = text.encode()
        return await post_raw(inbox(node), body, sign(alice, inbox(node), body))

    return send


def oversized(account: Account, node: Node) -> bytes:
    doc = activity(account, "Like", node.actor_id, padding="x" * MIB)
    return json.dumps(doc).encode()


async def over_1_mib_with_content_length(node: Node, alice: Account) -> httpx.Response:
    body = oversized(alice, node)
    return await post_raw(inbox(node), body, sign(alice, inbox(node), body))


async def chunked_over_1_mib(node: Node, alice: Account) -> httpx.Response:
    body = oversized(alice, node)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65_536):
            yield body[start : start + 65_536]

    response = await post_raw(inbox(node), chunks(), sign(alice, inbox(node), body))
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    return response


async def text_plain(node: Node, alice: Account) -> httpx.Response:
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = sign(alice, inbox(node), body, content_type="text/plain")
    return await post_raw(inbox(node), body, headers)


async def inbox_of_unknown_actor(node: Node, alice: Account) -> httpx.Response:
    url = f"{node.base_url}/actors/unknown/inbox"
    return await alice.post(url, alice.follow(f"{node.base_url}/actors/unknown"))


TOO_LARGE = "larger than 1048576 bytes"
REFUSED = {
    "malformed-json-400": Refused(malformed_json, 400, "invalid JSON"),
    "json-nested-past-the-limit-400": Refused(nested(40), 400, "JSON nested too deeply"),
    "json-nested-past-the-parser-400": Refused(nested(100_000), 400, "JSON nested too deeply"),
    "over-1-mib-with-content-length-413": Refused(
        over_1_mib_with_content_length, 413, TOO_LARGE, exact=False
    ),
    "chunked-over-1-mib-413": Refused(chunked_over_1_mib, 413, TOO_LARGE, exact=False),
    "text-plain-415": Refused(text_plain, 415, "application/activity+json", exact=False),
    "inbox-of-unknown-actor-404": Refused(inbox_of_unknown_actor, 404, "no such actor"),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
async def test_body_or_route_is_refused_with_its_reason_and_nothing_stored(
    start_node: NodeFactory, fediverse: FakeServer, case: Refused
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    message = refusal(await case.send(node, alice), case.status)
    assert message == case.says if case.exact else case.says in message
    assert await traces(node) == NOTHING


@pytest.mark.parametrize("where", ["activity", "actor-document"])
async def test_nul_character_is_refused_or_stored_but_never_a_server_error(
    start_node: NodeFactory, fediverse: FakeServer, where: str
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


async def test_get_on_an_inbox_is_405(start_node: NodeFactory) -> None:
    node = await start_node()
    for url in (inbox(node), f"{node.base_url}/inbox"):
        response = await node.client.get(url, headers={"Accept": AS2})
        refusal(response, 405)
        assert "POST" in response.headers["allow"]
    assert await traces(node) == NOTHING
