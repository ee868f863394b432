"""Who owns an object a followed actor sends by reference.

A ``Create`` may name its object by URL; the node fetches it from there. An
object fetched from another server is that server's, whoever sent the
``Create``: it is kept as its real owner's (relayed by the sender, as an
``Announce`` would be), so the owner's own ``Update`` and ``Delete`` still
apply. Every request is real HTTP, signed by ``httpsig`` from fake servers on
two loopback addresses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node.content.models import Event, Tombstone
from node.models import InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import AS2, Account, FakeServer, serve
from tests.support.following import be_followed_by
from tests.support.nodes import Node, free_port

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
START = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)


@dataclass
class ObjectServer(FakeServer):
    """A fake server that also serves objects at ``/objects/NAME``."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def _object(self, request: Request) -> Response:
        found = self.objects.get(request.path_params["name"])
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(found, media_type=AS2)

    def app(self) -> Starlette:
        # before the catch-all document route of FakeServer
        return Starlette(routes=[Route("/objects/{name}", self._object), *super().app().routes])


@pytest.fixture
async def good() -> AsyncIterator[ObjectServer]:
    """The server that really publishes the event, on a second loopback address."""
    host = "127.0.0.2"
    async with serve(ObjectServer(host=host, port=free_port(host))) as server:
        yield server


def event_of(account: Account, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": f"{account.server.base}/objects/{name}",
        "type": "Event",
        "attributedTo": account.id,
        "name": "Rent strike assembly",
        "startTime": START.isoformat(),
        "endTime": (START + timedelta(hours=2)).isoformat(),
        "to": [PUBLIC],
        **extra,
    }


def activity(account: Account, kind: str, obj: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": account.new_id(),
        "type": kind,
        "actor": account.id,
        "object": obj,
        "to": [PUBLIC],
    }


async def deliver(node: Node, account: Account, doc: dict[str, Any]) -> str:
    """POST ``doc`` signed by ``account``; wait until it is processed; its state."""
    assert (await account.post(f"{node.actor_id}/inbox", doc)).status_code == 202
    state = ""

    async def processed() -> bool:
        nonlocal state
        async with node.ctx.sessions() as session:
            state = (
                await session.scalar(
                    select(InboundActivity.state).where(InboundActivity.uri == doc["id"])
                )
                or ""
            )
        return state not in ("", "pending")

    await eventually(processed, timeout=10)
    return state


async def stored(node: Node, uri: str) -> Event | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Event).where(Event.uri == uri))


async def test_create_of_another_servers_event_cannot_take_it_from_its_owner(
    start_node: NodeFactory, fediverse: FakeServer, good: ObjectServer
) -> None:
    node = await start_node()
    evil = fediverse.add_account("evil")
    owner = good.add_account("organiser", key_index=1)
    await be_followed_by(node, evil)
    event = event_of(owner, "assembly")
    good.objects["assembly"] = event

    assert await deliver(node, evil, activity(evil, "Create", event["id"])) == "done"
    kept = await stored(node, event["id"])
    assert kept is not None, "the event is relayed by the followed sender"
    assert (kept.actor_uri, kept.relayed_by) == (owner.id, evil.id)

    cancelled = {**event, "eventStatus": "https://schema.org/EventCancelled"}
    assert await deliver(node, owner, activity(owner, "Update", cancelled)) == "done"
    kept = await stored(node, event["id"])
    assert kept is not None and kept.status == "cancelled"

    assert await deliver(node, owner, activity(owner, "Delete", event["id"])) == "done"
    assert await stored(node, event["id"]) is None
    async with node.ctx.sessions() as session:
        assert await session.get(Tombstone, event["id"]) is not None


async def test_create_of_own_object_attributed_to_another_server_is_not_stored(
    start_node: NodeFactory, good: ObjectServer
) -> None:
    """The sender serves the document itself but names someone else as its author:
    neither the sender (not the author) nor the named author (not its host) owns it."""
    node = await start_node()
    evil = good.add_account("evil")
    victim = "http://victim.example/users/organiser"
    event = {**event_of(evil, "forged"), "attributedTo": victim}
    good.objects["forged"] = event
    await be_followed_by(node, evil)

    await deliver(node, evil, activity(evil, "Create", event["id"]))
    assert await stored(node, event["id"]) is None

    # the control: the same sender's own event, by reference, is kept as its own
    own = event_of(evil, "own")
    good.objects["own"] = own
    assert await deliver(node, evil, activity(evil, "Create", own["id"])) == "done"
    kept = await stored(node, own["id"])
    assert kept is not None and (kept.actor_uri, kept.relayed_by) == (evil.id, None)
