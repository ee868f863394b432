"""A TCP relay in front of a loopback server that can close a kept-alive
connection just as the client's next request arrives on it.

That is what a server whose keep-alive timer fires at that moment does:
uvicorn (and Node.js) close an idle connection after 5 s, and a busy event
loop runs the timer before it reads a request that arrived meanwhile, so the
client sees the connection closed without an answer although the server is up.
The relay copies bytes both ways and understands nothing of HTTP: a
connection counts as reused once the server has sent something on it and the
client sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette

from tests.support.fediverse import FakeServer
from tests.support.nodes import free_port


@dataclass
class ClosingRelay:
    host: str
    port: int
    target_port: int
    close_reused: int = 0  # how many reused connections to close at their next request
    drop: int = 0  # how many requests to close a connection at, reused or new
    closed: int = 0  # connections closed either way
    connections: int = 0
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        self._open.update((writer, up_writer))
        answered = asyncio.Event()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
                answered.set()
            writer.close()

        copying = asyncio.create_task(downstream())
        try:
            while data := await reader.read(65536):
                if answered.is_set() and self.close_reused > 0:
                    self.close_reused -= 1
                elif self.drop > 0:
                    self.drop -= 1
                else:
                    up_writer.write(data)
                    await up_writer.drain()
                    continue
                self.closed += 1
                break  # the request is read and dropped: closed without an answer
        except ConnectionError:
            pass
        finally:
            copying.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await copying
            for end in (writer, up_writer):
                end.close()
                self._open.discard(end)

    def close_all(self) -> None:
        for end in self._open:
            end.close()


@asynccontextmanager
async def _uvicorn(app: Starlette, host: str, port: int) -> AsyncIterator[None]:
    runner = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield
    finally:
        runner.should_exit = True
        await task


@asynccontextmanager
async def closing_relay(host: str, target_port: int) -> AsyncIterator[ClosingRelay]:
    """A relay on a free port of ``host`` to ``target_port`` on the same host."""
    relay = ClosingRelay(host, free_port(host), target_port)
    listener = await asyncio.start_server(relay.handle, host, relay.port)
    try:
        yield relay
    finally:
        listener.close()
        relay.close_all()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await listener.wait_closed()


@asynccontextmanager
async def fake_server_behind_relay(
    host: str = "127.0.0.1",
) -> AsyncIterator[tuple[FakeServer, ClosingRelay]]:
    """A ``FakeServer`` whose URLs name the relay's port: every request to it
    passes through the relay."""
    inner = free_port(host)
    async with closing_relay(host, inner) as relay:
        server = FakeServer(host=host, port=relay.port)
        async with _uvicorn(server.app(), host, inner):
            yield server, relay
