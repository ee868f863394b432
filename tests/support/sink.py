"""Receivers for crash tests: an inbox sink that counts every POST per inbox, and a
fediverse server whose actor documents can be made to hang.

``InboxSink`` is raw HTTP/1.1 on 127.0.0.1 with keep-alive (a fan-out reuses its
connections), answering 202 to any POST; a POST counts once its answer is
written, the moment a real receiver would have accepted it.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from tests.support.fediverse import FakeServer

ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


class InboxSink:
    """Counts POSTs by (path, activity id); ``posts`` in arrival order."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    def inbox(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/u{n}/inbox"

    @property
    def distinct(self) -> int:
        return len(set(self.posts))

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in Counter(self.posts).values())

    async def __aenter__(self) -> InboxSink:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                path = head.split(" ", 2)[1]
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in head.split("\r\n")
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                writer.write(ACCEPTED)
                await writer.drain()
                self.posts.append((path, json.loads(body).get("id", "")))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class HangingServer(FakeServer):
    """A ``FakeServer`` whose actor documents are not answered while ``hanging``
    is set; ``asked`` counts the requests held back."""

    hanging: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    asked: int = 0

    async def _actor(self, request: Request) -> Response:
        if self.hanging.is_set():
            self.asked += 1
            await self.released.wait()
        return await super()._actor(request)
