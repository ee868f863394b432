"""Fetcher size and time limits, proven against real HTTP servers on loopback: a body
over the limit (declared, chunked or gzip-inflated), JSON too deep or too long, and
a server trickling its answer past the total deadline."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.responses import StreamingResponse

from federation.errors import FetchError, MalformedError, TooLargeError
from federation.fetch import Fetcher
from federation.fetch_client import FetchClient
from tests.support.site import (
    AS_TYPE,
    Site,
    document,
    shared_loop,
)


@shared_loop
async def test_fetch_object_rejects_a_body_over_the_limit_by_content_length(
    site: Site, fetcher: Fetcher
) -> None:
    url = site.url("/big")
    site.routes["/big"] = document(b" " * (1024 * 1024 + 1))
    with pytest.raises(TooLargeError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_a_chunked_body_over_the_limit(
    site: Site, client: FetchClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB in 64 KiB chunks, no Content-Length
            yield b" " * 65536

    url = site.url("/big")
    site.routes["/big"] = lambda _r: StreamingResponse(chunks(), media_type=AS_TYPE)
    async with client.get(url, {}) as response:  # the premise: no declared length
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
    with pytest.raises(TooLargeError):
        await Fetcher(client).fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_a_gzip_bomb(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/bomb")
    bomb = gzip.compress(b" " * (16 * 1024 * 1024))  # 16 MiB inflated, ~16 KiB on the wire
    site.routes["/bomb"] = document(bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(TooLargeError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_too_deep_json(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/deep")
    site.routes["/deep"] = document(b'{"id": "x", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    with pytest.raises(MalformedError, match="nested"):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_an_over_long_array(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/poll")
    site.routes["/poll"] = document({"id": url, "oneOf": [{"name": str(n)} for n in range(5000)]})
    with pytest.raises(MalformedError, match="over the limit"):
        await fetcher.fetch_object(url)


@shared_loop
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe{}"])
async def test_fetch_object_requires_a_json_object(
    site: Site, fetcher: Fetcher, body: bytes
) -> None:
    url = site.url("/odd")
    site.routes["/odd"] = document(body)
    with pytest.raises(MalformedError):
        await fetcher.fetch_object(url)


class TrickleServer:
    """Raw TCP: sends ``prefix`` at once, then ``trickle`` one byte per second (slowloris)."""

    def __init__(self, prefix: bytes, trickle: bytes) -> None:
        self.prefix, self.trickle = prefix, trickle
        self.trickled = 0
        self.port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TrickleServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.prefix)
            for byte in self.trickle:
                writer.write(bytes([byte]))
                await writer.drain()
                self.trickled += 1
                await asyncio.sleep(1.0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nContent-Length: 64\r\n\r\n"


@shared_loop
@pytest.mark.parametrize(
    ("prefix", "trickle"),
    [(b"", HEAD + b" " * 64), (HEAD, b" " * 64)],
    ids=["headers-trickle", "body-trickle"],
)
async def test_a_slow_trickle_is_cut_off_by_the_total_deadline(
    client: FetchClient, prefix: bytes, trickle: bytes
) -> None:
    async with TrickleServer(prefix, trickle) as server:
        fetcher = Fetcher(client, deadline=1.0)
        with pytest.raises(FetchError, match="no complete answer within 1 s"):
            await fetcher.fetch_object(f"http://127.0.0.1:{server.port}/slow")
    assert 0 < server.trickled < len(trickle)


@shared_loop
async def test_a_declared_length_over_the_limit_is_refused_before_the_body_arrives(
    client: FetchClient,
) -> None:
    head = HEAD.replace(b"Content-Length: 64", b"Content-Length: 2000000")
    async with TrickleServer(head, b" " * 10) as server:
        with pytest.raises(TooLargeError):
            await Fetcher(client, deadline=2.0).fetch_object(f"http://127.0.0.1:{server.port}/")
    assert server.trickled <= 1
