"""Forged inbox POSTs cost the node little, and odd header bytes never a 5xx.

A forged signature must be refused from what the request itself says (the
``Signature`` header, ``Date``, ``Digest``, the host of the key against the
host of the actor) before the body is parsed or any key fetched; a key that
could not be fetched is not fetched again for every POST that names it; and
one slow server cannot hold more than a couple of the node's key fetches at
once. Real nodes over real HTTP, signed with ``httpsig``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.responses import JSONResponse, Response

from node.models import InboundActivity
from tests.e2e.conftest import NodeFactory
from tests.support.clients import loopback_client
from tests.support.fediverse import AS2, Account, FakeServer, fake_server
from tests.support.nodes import Node, free_port


def inbox(node: Node) -> str:
    return f"{node.actor_id}/inbox"


async def post(node: Node, body: bytes, headers: Any) -> httpx.Response:
    async with loopback_client() as client:
        return await client.post(inbox(node), content=body, headers=headers)


async def inbound_rows(node: Node) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundActivity)) or 0)


def counting(server: FakeServer, path: str, answer: Response | None = None) -> list[str]:
    """Note every GET of ``path`` on ``server`` (answered 404 unless told otherwise)."""
    seen: list[str] = []

    def serve() -> Response:
        seen.append(path)
        return answer or JSONResponse({"error": "not found"}, status_code=404)

    server.override[path] = serve
    return seen


def forged_headers(account: Account, node: Node, body: bytes, key_id: str) -> dict[str, str]:
    """Headers signed with ``account``'s key but naming ``key_id``: well-formed, not valid."""
    return account.signed_headers(inbox(node), body, key_id=key_id)


# -- A. forged signatures are refused before any key fetch or JSON parsing -----------------


async def test_key_on_a_host_other_than_the_actors_is_never_fetched(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    async with fake_server("127.0.0.2") as elsewhere:
        node = await start_node()
        alice = fediverse.add_account("alice")
        fetched = counting(elsewhere, "/users/victim")
        body = json.dumps(alice.follow(node.actor_id)).encode()
        key_id = f"{elsewhere.base}/users/victim#main-key"
        response = await post(node, body, forged_headers(alice, node, body, key_id))
        assert response.status_code == 401, response.text
        assert fetched == []  # the node sent no request to the server the keyId names
        assert await inbound_rows(node) == 0


async def test_junk_signature_on_a_body_that_is_not_json_gets_the_signature_error(
    start_node: NodeFactory,
) -> None:
    """The signature is judged before the body is parsed: a megabyte of non-JSON under
    ``Signature: junk`` is a 401 about the signature, never a 400 about the JSON."""
    node = await start_node()
    body = b"{" * (1_048_576 - 1)
    response = await post(node, body, {"Content-Type": AS2, "Signature": "junk"})
    assert response.status_code == 401, response.text
    assert "JSON" not in response.json()["error"]


async def test_body_that_does_not_match_its_digest_is_refused_before_parsing_the_json(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    fetched = counting(fediverse, "/users/alice")
    signed_for = json.dumps(alice.follow(node.actor_id)).encode()
    headers = alice.signed_headers(inbox(node), signed_for)
    response = await post(node, b"not json at all", headers)
    assert response.status_code == 401, response.text
    assert "Digest" in response.json()["error"]
    assert fetched == []


async def test_failing_key_url_is_fetched_once_for_ten_posts(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    fetched = counting(fediverse, "/users/ghost")  # 404: the key cannot be had
    key_id = f"{fediverse.base}/users/ghost#main-key"
    for _ in range(10):
        follow = {**alice.follow(node.actor_id), "actor": f"{fediverse.base}/users/ghost"}
        body = json.dumps(follow).encode()
        response = await post(node, body, forged_headers(alice, node, body, key_id))
        assert response.status_code == 401, response.text
    assert fetched == ["/users/ghost"]
    assert await inbound_rows(node) == 0


@dataclass
class SlowServer:
    """A server that holds every request for a while, noting how many it holds at once."""

    host: str
    port: int
    holding: int = 0
    most_held: int = 0
    requests: int = 0

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            self.holding += 1
            self.most_held = max(self.most_held, self.holding)
            await asyncio.sleep(0.4)
            self.holding -= 1
            writer.write(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def slow_server(host: str = "127.0.0.3") -> AsyncIterator[SlowServer]:
    state = SlowServer(host, free_port(host))
    server = await asyncio.start_server(state.handle, host, state.port)
    async with server:
        yield state


async def test_one_slow_server_gets_at_most_two_key_fetches_at_once(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    async with slow_server() as slow:

        async def forged(n: int) -> int:
            follow = {**alice.follow(node.actor_id), "actor": f"{slow.base}/users/u{n}"}
            follow["id"] = f"{slow.base}/follows/{n}"
            body = json.dumps(follow).encode()
            key_id = f"{slow.base}/users/u{n}#main-key"
            return (await post(node, body, forged_headers(alice, node, body, key_id))).status_code

        statuses = await asyncio.gather(*(forged(n) for n in range(6)))
    assert statuses == [401] * 6
    assert slow.requests == 6  # each key was asked for (distinct key ids)
    assert slow.most_held <= 2  # node.remote.KEY_FETCHES_PER_HOST


# -- B. header bytes outside ASCII --------------------------------------------------------


async def test_non_ascii_bytes_in_an_unsigned_header_of_a_signed_post_are_no_server_error(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    headers = [(k.encode(), v.encode()) for k, v in alice.signed_headers(inbox(node), body).items()]
    for value in ("café".encode(), "café".encode("latin-1"), b"\xff\xfe"):
        response = await post(node, body, [*headers, (b"X-Anything", value)])
        assert response.status_code == 202, response.text
    assert await inbound_rows(node) == 1  # the same activity three times: recorded once


async def test_non_ascii_bytes_in_an_unsigned_post_are_refused_with_401(
    start_node: NodeFactory,
) -> None:
    node = await start_node()
    for value in ("café".encode(), b"\xe9\xff"):
        response = await post(
            node, b"{}", [(b"Content-Type", AS2.encode()), (b"X-Anything", value)]
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "request is not signed"


async def test_non_ascii_bytes_in_a_signed_header_are_refused_with_4xx(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    body = json.dumps(alice.follow(node.actor_id)).encode()
    signed = alice.signed_headers(inbox(node), body)
    for name in ("Date", "Digest", "Content-Type", "Host", "Signature"):
        for value in ("café".encode(), b"\xe9\xff"):
            headers = [
                (k.encode(), v.encode()) for k, v in signed.items() if k.lower() != name.lower()
            ]
            response = await post(node, body, [*headers, (name.encode(), value)])
            assert 400 <= response.status_code < 500, (name, value, response.text)
    assert await inbound_rows(node) == 0
