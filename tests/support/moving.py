"""Helpers of the export, import and move tests (tests/e2e/test_export_import.py,
tests/e2e/test_moves.py): nodes on a chosen database, follows made and awaited,
and the ``tocsin`` command run against a node."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from node import follows
from node.models import Follower, Following, RemoteActor
from node.worker import run_worker
from tests.support.databases import migrated_database
from tests.support.fediverse import Account
from tests.support.nodes import Node, eventually, free_port, http_node, make_settings

KindNodeFactory = Callable[..., Awaitable[Node]]


class Nodes:
    """Real nodes, each on the database kind asked for (sqlite or postgres), any
    of which can be stopped for good (a domain that is gone)."""

    def __init__(self, stack: AsyncExitStack, tmp_path: Path) -> None:
        self._stack, self._tmp_path = stack, tmp_path
        self._own: dict[int, AsyncExitStack] = {}

    async def __call__(self, name: str, kind: str = "sqlite") -> Node:
        database_url = await self._stack.enter_async_context(
            migrated_database(kind, self._tmp_path)
        )
        base_url = f"http://127.0.0.1:{free_port()}"
        settings = make_settings(self._tmp_path, database_url, name=name, base_url=base_url)
        own = await self._stack.enter_async_context(AsyncExitStack())
        node = await own.enter_async_context(http_node(settings, background=[run_worker]))
        self._own[id(node)] = own
        return node

    async def stop(self, node: Node) -> None:
        await self._own.pop(id(node)).aclose()


@asynccontextmanager
async def nodes_on(tmp_path: Path) -> AsyncIterator[Nodes]:
    async with AsyncExitStack() as stack:
        yield Nodes(stack, tmp_path)


def handle(node: Node) -> str:
    return f"@{node.settings.node_name}@{node.settings.host}"


async def follow_and_wait(follower: Node, target: Node) -> None:
    remote = await follows.resolve_target(follower.ctx, handle(target))
    async with follower.ctx.sessions() as session, session.begin():
        await follows.follow(follower.ctx, session, remote)
    follower.ctx.wake()
    await eventually(lambda: following_state(follower, target.actor_id, "accepted"))


async def following_state(node: Node, actor_id: str, state: str | None) -> bool:
    """Whether ``node`` follows ``actor_id`` in ``state`` (None: does not follow it)."""
    async with node.ctx.sessions() as session:
        found = await session.scalar(
            select(Following.state)
            .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
            .where(RemoteActor.uri == actor_id)
        )
    return found == state


async def fediverse_follows(account: Account, node: Node) -> None:
    """A fediverse account follows ``node`` and is accepted."""
    response = await account.post(f"{node.actor_id}/inbox", account.follow(node.actor_id))
    assert response.status_code == 202, response.text

    async def accepted() -> bool:
        async with node.ctx.sessions() as session:
            state = await session.scalar(
                select(Follower.state)
                .join(RemoteActor, RemoteActor.id == Follower.remote_actor_id)
                .where(RemoteActor.uri == account.id)
            )
        return state == "accepted"

    await eventually(accepted)


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc))
