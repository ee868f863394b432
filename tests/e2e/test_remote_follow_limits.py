"""Remote-follow lookups are made for anyone who asks, so they are bounded: a
few per client, a few at once for the whole node, and they only ever send a
visitor to their own server's follow page (never an open redirect)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from node.web.remote_follow import LOOKUP_SLOTS, LOOKUPS_PER_CLIENT
from tests.e2e.conftest import NodeFactory
from tests.support.clients import loopback_transport
from tests.support.fediverse import InteractiveServer, serve
from tests.support.nodes import Node, free_port

HTML = {"Accept": "text/html"}


@dataclass
class SlowServer(InteractiveServer):
    """Answers WebFinger after ``delay`` seconds, noting how many it serves at once."""

    delay: float = 0.0
    running: int = 0
    most_at_once: int = 0
    lookups: int = 0

    async def _webfinger(self, request: Request) -> Response:
        self.lookups += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            return await super()._webfinger(request)
        finally:
            self.running -= 1


@pytest.fixture
async def mastodon() -> AsyncIterator[SlowServer]:
    server = SlowServer(host="127.0.0.1", port=free_port())
    server.add_account("alice")
    async with serve(server):
        yield server


async def follow_from(node: Node, handle: str, source: str = "127.0.0.1") -> httpx.Response:
    """POST the remote-follow form from the loopback address ``source``."""
    transport = loopback_transport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as client:
        return await client.post("/follow", data={"handle": handle}, headers=HTML)


async def test_subscribe_template_on_another_host_is_not_an_open_redirect(
    start_node: NodeFactory, mastodon: SlowServer
) -> None:
    node = await start_node(worker=False)
    mastodon.subscribe_template = "http://127.0.0.2:8080/phish?uri={uri}"
    response = await follow_from(node, f"@alice@{mastodon.authority}")
    assert response.status_code == 502
    assert "location" not in response.headers
    assert "wants to send you to another server" in response.text


async def test_one_client_flooding_lookups_gets_429_after_its_share(
    start_node: NodeFactory, mastodon: SlowServer
) -> None:
    node = await start_node(worker=False)
    handle = f"@alice@{mastodon.authority}"
    answers = await asyncio.gather(*(follow_from(node, handle) for _ in range(30)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(303) == LOOKUPS_PER_CLIENT
    assert statuses.count(429) == 30 - LOOKUPS_PER_CLIENT
    assert mastodon.lookups == LOOKUPS_PER_CLIENT
    limited = next(answer for answer in answers if answer.status_code == 429)
    assert int(limited.headers["retry-after"]) > 0
    assert "looked up many addresses" in limited.text
    other = await follow_from(node, handle, source="127.0.0.9")  # another client is not limited
    assert other.status_code == 303


async def test_lookups_from_many_clients_run_a_few_at_a_time(
    start_node: NodeFactory, mastodon: SlowServer
) -> None:
    node = await start_node(worker=False)
    mastodon.delay = 0.3
    handle = f"@alice@{mastodon.authority}"
    sources = [f"127.0.0.{10 + i}" for i in range(12)]
    answers = await asyncio.gather(*(follow_from(node, handle, source) for source in sources))
    assert [answer.status_code for answer in answers] == [303] * 12
    assert mastodon.most_at_once == LOOKUP_SLOTS
