"""A relayed object whose origin cannot answer now is not dropped: the Announce
stays pending and is processed again, first within seconds (an urgent callout
relayed down a tree must reach every node in well under 5 s), then after
longer pauses. A connection the origin closes as the node reuses it is not
such a failure at all: the fetch is simply sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from starlette.responses import JSONResponse, Response

from node.content.models import Event
from node.models import Following, InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.closing_relay import fake_server_behind_relay
from tests.support.fediverse import AS2, Account, FakeServer
from tests.support.followed import AS2_CONTEXT, accept, ask_to_follow, event_of
from tests.support.nodes import Node


def announce_of(relayer: Account, object_id: str) -> dict[str, Any]:
    return {
        "@context": AS2_CONTEXT,
        "id": relayer.new_id("announces"),
        "type": "Announce",
        "actor": relayer.id,
        "object": object_id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


async def stored(node: Node, uri: str) -> bool:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Event).where(Event.uri == uri)) is not None


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
    announce = announce_of(relayer, event["id"])

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

    await eventually(lambda: stored(node, event["id"]))
    done = await row()
    assert done is not None and done.state == "done"


async def test_an_origin_busy_for_a_moment_is_asked_again_within_seconds(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("haringey")
    relayer = fediverse.add_account("leeds")
    await accept(node, relayer, await ask_to_follow(node, relayer))
    event = event_of(relayer, "Bailiffs at 14 Elm Court now")
    answers = [JSONResponse({"error": "overloaded"}, status_code=503)]

    def origin() -> Response:
        if answers:
            return answers.pop()
        return JSONResponse({"@context": AS2_CONTEXT, **event}, media_type=AS2)

    fediverse.documents[event["id"].split(fediverse.authority, 1)[1]] = origin
    answer = await relayer.post(f"{node.actor_id}/inbox", announce_of(relayer, event["id"]))
    assert answer.status_code == 202, answer.text

    # the first retry is due 2 s after the 503, the worker looks every second: not a minute
    await eventually(lambda: stored(node, event["id"]), timeout=8)
    assert not answers  # it was refused once


async def test_a_kept_alive_connection_the_origin_closes_as_it_is_reused_costs_no_pause(
    start_node: NodeFactory,
) -> None:
    async with fake_server_behind_relay() as (origin, relay):
        node = await start_node("haringey")
        relayer = origin.add_account("leeds")
        await accept(node, relayer, await ask_to_follow(node, relayer))

        async def backfilled() -> bool:  # its fetches are done: the next GET is the relay's
            async with node.ctx.sessions() as session:
                following = await session.scalar(select(Following))
            accepted = following is not None and following.state == "accepted"
            return accepted and following.backfill_due_at is None

        await eventually(backfilled)
        event = event_of(relayer, "Bailiffs at 14 Elm Court now")
        origin.documents[event["id"].split(origin.authority, 1)[1]] = {
            "@context": AS2_CONTEXT,
            **event,
        }
        await node.ctx.directory.fetch(relayer.id)  # the node keeps this connection open
        relay.close_reused = 1  # the origin's keep-alive timer fires as the next GET arrives
        announce = announce_of(relayer, event["id"])
        answer = await relayer.post(f"{node.actor_id}/inbox", announce)
        assert answer.status_code == 202, answer.text

        await eventually(lambda: stored(node, event["id"]), timeout=5)
        assert relay.closed == 1
        async with node.ctx.sessions() as session:
            row = await session.scalar(
                select(InboundActivity).where(InboundActivity.uri == announce["id"])
            )
        assert row is not None and (row.state, row.attempts, row.error) == ("done", 1, None)
