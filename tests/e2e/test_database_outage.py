"""While PostgreSQL is unreachable the node answers 503 with ``Retry-After``, and
recovers by itself once it is back.

The machine's PostgreSQL is never stopped: the node talks to it through a TCP
proxy on loopback that the test cuts (closing every connection and refusing
new ones) and restores.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from node.worker import run_worker
from tests.conftest import DATABASES
from tests.support.clients import loopback_client
from tests.support.databases import migrated_database
from tests.support.fediverse import FakeServer
from tests.support.nodes import Node, free_port, http_node, make_settings

POSTGRES = [param for param in DATABASES if not isinstance(param, str)]


class Proxy:
    """Pipes loopback connections to PostgreSQL until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._copy(reader, up_writer), self._copy(up_reader, writer), return_exceptions=True
        )

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@asynccontextmanager
async def node_behind_proxy(tmp_path: Path) -> AsyncIterator[tuple[Node, Proxy]]:
    async with migrated_database("postgres", tmp_path) as url:
        parsed = make_url(url)
        proxy = Proxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        await proxy.restore()
        proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        port = free_port()
        settings = make_settings(tmp_path, proxied, base_url=f"http://127.0.0.1:{port}")
        try:
            async with http_node(settings, background=[run_worker]) as node:
                yield node, proxy
        finally:
            with suppress(AssertionError):
                await proxy.cut()


@pytest.mark.parametrize("db_kind", POSTGRES)
async def test_inbox_and_pages_answer_503_while_postgresql_is_unreachable_then_recover(
    db_kind: str, tmp_path: Path, fediverse: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = fediverse.add_account("alice")
    async with node_behind_proxy(tmp_path) as (node, proxy):
        inbox = f"{node.actor_id}/inbox"
        follow = alice.follow(node.actor_id)
        body = json.dumps(follow).encode()
        headers = alice.signed_headers(inbox, body)
        await proxy.cut()
        caplog.clear()
        async with loopback_client() as client:
            response = await client.post(inbox, content=body, headers=headers)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"].isdigit()
            page = await client.get(f"{node.base_url}/actors/network/followers")
            assert page.status_code == 503, page.text
            assert page.headers["retry-after"].isdigit()
            requests = [r for r in caplog.records if r.name.startswith(("node.web", "node.app"))]
            assert requests and all(r.exc_info is None for r in requests)
            assert not [r for r in caplog.records if r.name.startswith("uvicorn")]
            await proxy.restore()
            response = await client.post(inbox, content=body, headers=headers)
            assert response.status_code == 202, response.text
        accept = await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
        assert accept.activity["object"]["id"] == follow["id"]
    logging.getLogger(__name__).info("recovered")
