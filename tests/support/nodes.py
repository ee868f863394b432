"""Real Tocsin nodes for tests: in-process (ASGI) or as a real HTTP server on a
loopback port, each with its own data dir and database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from node.app import BackgroundTask, create_app
from node.bootstrap import prepare
from node.config import Settings, load_settings
from node.context import NodeContext
from tests.support.clients import loopback_client
from tests.support.keys import CHEAP_HASHER, next_key_pair


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def make_settings(
    tmp_path: Path, database_url: str, *, name: str = "network", base_url: str, **env: str
) -> Settings:
    data_dir = tmp_path / f"data-{name}-{base_url.rsplit(':', 1)[-1]}"
    values = {
        "TOCSIN_BASE_URL": base_url,
        "TOCSIN_LISTEN": base_url.split("://", 1)[1],
        "TOCSIN_DATA_DIR": str(data_dir),
        "TOCSIN_DATABASE_URL": database_url,
        "TOCSIN_NODE_NAME": name,
        "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
        **env,
    }
    return load_settings(values)


async def prepare_test_node(settings: Settings) -> str | None:
    """``prepare`` with pooled keys and a cheap admin hash; the admin's password."""
    return await prepare(
        settings, first_admin=True, new_key_pair=next_key_pair, password_hasher=CHEAP_HASHER
    )


@dataclass
class Node:
    settings: Settings
    app: Starlette
    client: httpx.AsyncClient  # talks to this node
    admin_password: str | None

    @property
    def ctx(self) -> NodeContext:
        context: NodeContext = self.app.state.ctx
        return context

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def actor_id(self) -> str:
        return self.ctx.urls.actor(self.settings.node_name)


@asynccontextmanager
async def asgi_node(settings: Settings) -> AsyncIterator[Node]:
    """A node served in-process: fast, no sockets, the whole app and lifespan."""
    password = await prepare_test_node(settings)
    app = create_app(settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=settings.base_url)
        )
        yield Node(settings, app, client, password)


@asynccontextmanager
async def http_node(
    settings: Settings,
    *,
    background: list[BackgroundTask] | None = None,
    process_inbox: bool = True,
) -> AsyncIterator[Node]:
    """A node behind a real uvicorn server on its loopback port."""
    password = await prepare_test_node(settings)
    app = create_app(settings, background=background, process_inbox=process_inbox)
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        async with loopback_client(base_url=settings.base_url) as client:
            yield Node(settings, app, client, password)
    finally:
        server.should_exit = True
        await task


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15) -> None:
    """Wait until ``check()`` is true (federation is asynchronous)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
