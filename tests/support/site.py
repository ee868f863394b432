"""A Starlette site served by uvicorn on loopback, with per-test routes, for the
fetcher tests. Two made-up host names, ``a.example`` and ``b.example``, both
resolve (through ``RESOLVER``) to it, so "another host" is reachable and a test
can show that the fetcher never went there."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from federation.netguard import StaticResolver

AS_TYPE = "application/activity+json"
LD_AS_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
RESOLVER = StaticResolver({"a.example": "127.0.0.1", "b.example": "127.0.0.1"})


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Request], Response]] = {}
        self.seen: list[tuple[str, str, httpx.Headers]] = []  # (host, path, headers)
        self.port = 0

    def url(self, path: str, host: str = "a.example") -> str:
        return f"http://{host}:{self.port}{path}"

    async def dispatch(self, request: Request) -> Response:
        headers = httpx.Headers(request.headers.raw)
        self.seen.append((headers["host"].split(":")[0], request.url.path, headers))
        handler = self.routes.get(request.url.path)
        return handler(request) if handler else PlainTextResponse("not found", 404)

    def paths_requested(self, host: str = "a.example") -> list[str]:
        return [path for seen_host, path, _ in self.seen if seen_host == host]


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


# One server per module (uvicorn takes ~0.2 s to stop), so tests using it share its loop.
shared_loop = pytest.mark.asyncio(loop_scope="module")


def document(doc: Any, content_type: str = AS_TYPE, **headers: str) -> Callable[..., Response]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return lambda _request: Response(body, media_type=content_type, headers=headers)


def redirect(location: str, status: int = 302) -> Callable[..., Response]:
    return lambda _request: RedirectResponse(location, status_code=status)
