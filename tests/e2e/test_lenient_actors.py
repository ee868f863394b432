"""An actor without ``preferredUsername`` (ActivityPub does not require one;
fediverse-pasture's test actors send none): its signatures verify, what it
publishes is kept, and it is shown by its id's host and path."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from node.content.calendar import origins, upcoming_events
from node.content.models import Event
from node.models import Following
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import FakeServer
from tests.support.followed import accept, ask_to_follow, event_of, post_create


async def test_an_actor_without_username_is_followed_and_its_events_are_kept(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("haringey")
    pasture = fediverse.add_account("pasture", username=False)
    assert "preferredUsername" not in pasture.document()
    follow = await ask_to_follow(node, pasture)
    await accept(node, pasture, follow)

    async def accepted() -> bool:
        async with node.ctx.sessions() as session:
            return await session.scalar(select(Following.state)) == "accepted"

    await eventually(accepted)
    event = event_of(pasture, "Pasture picnic")
    await post_create(node, pasture, event)

    async def stored() -> bool:
        async with node.ctx.sessions() as session:
            return await session.scalar(select(Event).where(Event.uri == event["id"])) is not None

    await eventually(stored)
    async with node.ctx.sessions() as session:
        entries = await origins(
            session, list(await upcoming_events(session, datetime.now(UTC))), node.settings.host
        )
    assert [(e.item.title, e.origin.handle) for e in entries] == [
        ("Pasture picnic", f"{fediverse.authority}/users/pasture")
    ]
    assert entries[0].origin.name == "Pasture"  # its display name still shows
