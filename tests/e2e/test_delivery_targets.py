"""Deliveries go only to the actor's own server: an actor document that names
an inbox on another host cannot make the node send signed POSTs there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.responses import JSONResponse, Response

from node.models import Follower
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import AS2, Account, FakeServer, fake_server
from tests.support.nodes import Node
from tests.support.published import publish_event

SETTLE = 1.0  # seconds for a wrongly queued delivery to show up


@pytest.fixture
async def elsewhere() -> AsyncIterator[FakeServer]:
    """Somebody else's server, on another loopback address."""
    async with fake_server("127.0.0.2") as server:
        yield server


def serve_document(server: FakeServer, account: Account, **changes: Any) -> None:
    doc = {**account.document(), **changes}

    def serve() -> Response:
        return JSONResponse(doc, media_type=AS2)

    server.override[f"/users/{account.name}"] = serve


async def followers(node: Node) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Follower)) or 0)


async def test_actor_whose_inbox_is_on_another_server_gets_no_delivery(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer
) -> None:
    node = await start_node()
    mallory = fediverse.add_account("mallory")
    serve_document(
        fediverse,
        mallory,
        inbox=f"{elsewhere.base}/users/victim/inbox",
        endpoints={"sharedInbox": f"{elsewhere.base}/inbox"},
    )
    response = await mallory.post(f"{node.actor_id}/inbox", mallory.follow(node.actor_id))
    assert response.status_code == 403, response.text
    assert response.json() == {"error": "the actor's inbox is not on the actor's own server"}
    await asyncio.sleep(SETTLE)
    assert elsewhere.received == []
    assert await followers(node) == 0


async def test_shared_inbox_on_another_server_is_ignored_for_the_personal_inbox(
    start_node: NodeFactory, fediverse: FakeServer, elsewhere: FakeServer
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    serve_document(fediverse, alice, endpoints={"sharedInbox": f"{elsewhere.base}/inbox"})
    response = await alice.post(f"{node.actor_id}/inbox", alice.follow(node.actor_id))
    assert response.status_code == 202, response.text

    async def followed() -> bool:
        return await followers(node) == 1

    await eventually(followed)
    await publish_event(node)  # a public Create: fanned out by shared inbox where there is one
    create = await fediverse.wait_for(lambda item: item.activity.get("type") == "Create")
    assert create.path == "/users/alice/inbox" and create.verified
    await asyncio.sleep(SETTLE)
    assert elsewhere.received == []
