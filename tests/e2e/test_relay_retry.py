"""A relayed object whose origin cannot answer now (HTTP 503) is not dropped: the
Announce stays pending and is processed again once the pause has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from starlette.responses import JSONResponse, Response

from node.content.models import Event
from node.models import InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import AS2, FakeServer
from tests.support.followed import AS2_CONTEXT, accept, ask_to_follow, event_of


async def test_an_announce_whose_origin_is_busy_is_retried_not_dropped(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("haringey")
    relayer = fediverse.add_account("leeds")
    await accept(node, relayer, await ask_to_follow(node, relayer))
    event = event_of(relayer, "Picnic in the park")
    path = event["id"].split(fediverse.authority, 1)[1]
    busy: list[bool] = [True]

    def origin() -> Response:
        if busy[0]:
            return JSONResponse({"error": "overloaded"}, status_code=503)
        return JSONResponse({"@context": AS2_CONTEXT, **event}, media_type=AS2)

    fediverse.documents[path] = origin
    announce = {
        "@context": AS2_CONTEXT,
        "id": relayer.new_id("announces"),
        "type": "Announce",
        "actor": relayer.id,
        "object": event["id"],
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }

    answer = await relayer.post(f"{node.actor_id}/inbox", announce)
    assert answer.status_code == 202, answer.text

    async def row() -> InboundActivity | None:
        async with node.ctx.sessions() as session:
            return await session.scalar(
                select(InboundActivity).where(InboundActivity.uri == announce["id"])
            )

    async def waiting_to_retry() -> bool:
        found = await row()
        return found is not None and found.error is not None and "503" in found.error

    await eventually(waiting_to_retry)
    found = await row()
    assert found is not None and found.state == "pending"
    assert found.locked_until is not None and found.locked_until > datetime.now(UTC)

    busy[0] = False  # the origin is back; let the pause pass
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(InboundActivity)
            .where(InboundActivity.uri == announce["id"])
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )

    async def stored() -> bool:
        async with node.ctx.sessions() as session:
            return await session.scalar(select(Event).where(Event.uri == event["id"])) is not None

    await eventually(stored)
    done = await row()
    assert done is not None and done.state == "done"
