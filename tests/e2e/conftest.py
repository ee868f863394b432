from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from node.worker import run_worker
from tests.support.databases import migrated_database
from tests.support.delivery import RemoteServer, serving
from tests.support.fediverse import FakeServer, fake_server
from tests.support.nodes import Node, eventually, free_port, http_node, make_settings

NodeFactory = Callable[..., Awaitable[Node]]


@pytest.fixture
async def fediverse() -> AsyncIterator[FakeServer]:
    async with fake_server() as server:
        yield server


@pytest.fixture
async def start_node(db_kind: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """Start real nodes, each on its own loopback port with its own database."""
    async with AsyncExitStack() as stack:

        async def start(name: str = "network", *, worker: bool = True, **env: str) -> Node:
            database_url = await stack.enter_async_context(migrated_database(db_kind, tmp_path))
            port = free_port()
            settings = make_settings(
                tmp_path, database_url, name=name, base_url=f"http://127.0.0.1:{port}", **env
            )
            background = [run_worker] if worker else []
            return await stack.enter_async_context(http_node(settings, background=background))

        yield start


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeServer]:
    """A second fediverse server, on another loopback address."""
    async with fake_server("127.0.0.2") as server:
        yield server


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    """A fediverse stand-in that keeps each raw inbox POST and answers from a script."""
    async with serving(RemoteServer("127.0.0.1", free_port())) as server:
        yield server


__all__ = ["NodeFactory", "eventually"]
