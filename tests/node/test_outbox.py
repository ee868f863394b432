"""What is deleted or edited out is gone: the outbox and ``/activities/…`` serve
only what is current, so an address removed from a callout or a deleted event's
place cannot be read back from old activities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from node.content import callouts as co
from node.content import events as ev
from node.models import OutboundActivity
from tests.support.nodes import Node

AS2 = "application/activity+json"
SOON = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
SECRET_PLACE = "12 Hidden Lane"
SECRET_CONTACT = "Signal: 07000 123456"


async def _outbox_items(node: Node) -> list[dict[str, Any]]:
    outbox = (await node.client.get("/actors/network/outbox", headers={"Accept": AS2})).json()
    page = (await node.client.get(outbox["first"], headers={"Accept": AS2})).json()
    assert page["totalItems"] == outbox["totalItems"] == len(page["orderedItems"])
    return list(page["orderedItems"])


async def _activity_ids(node: Node, object_uri: str) -> dict[str, str]:
    async with node.ctx.sessions() as session:
        rows = await session.execute(
            select(OutboundActivity.type, OutboundActivity.uri)
            .where(OutboundActivity.object_uri == object_uri)
            .order_by(OutboundActivity.id)
        )
        return {kind: uri for kind, uri in rows.all()}  # the last of each kind


async def test_deleted_event_is_gone_from_the_outbox_and_its_activities(node: Node) -> None:
    form = ev.EventForm(
        title="Safe house meeting",
        start=f"{SOON} 19:00",
        end=f"{SOON} 21:00",
        timezone="Europe/London",
        address=SECRET_PLACE,
        latitude="51.5",
        longitude="-0.12",
    )
    async with node.ctx.sessions() as session, session.begin():
        event = await ev.create_event(node.ctx, session, form)
    uri = event.uri
    created = (await _activity_ids(node, uri))["Create"]
    assert SECRET_PLACE in str(await _outbox_items(node))
    async with node.ctx.sessions() as session, session.begin():
        await ev.delete_event(node.ctx, session, await session.get(ev.Event, event.id))
    assert SECRET_PLACE not in str(await _outbox_items(node))
    assert uri not in {item["object"]["id"] for item in await _outbox_items(node)}
    for accept in (AS2, "text/html"):
        response = await node.client.get(created, headers={"Accept": accept})
        assert response.status_code == 410, accept
        assert SECRET_PLACE not in response.text and "51.5" not in response.text
    delete = (await _activity_ids(node, uri))["Delete"]
    assert (await node.client.get(delete, headers={"Accept": AS2})).json()["type"] == "Delete"


async def test_edited_out_address_is_not_served_by_old_activities(node: Node) -> None:
    form = co.CalloutForm(
        title="Eviction at 7am",
        needed="People at the door",
        until=f"{SOON} 09:00",
        contact=SECRET_CONTACT,
        address=SECRET_PLACE,
        timezone="Europe/London",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form)
    created = (await _activity_ids(node, callout.uri))["Create"]
    async with node.ctx.sessions() as session, session.begin():
        mine = await session.get(co.Callout, callout.id)
        await co.update_callout(node.ctx, session, mine, co.CalloutForm(contact="", address=""))
    items = await _outbox_items(node)
    assert [item["object"]["id"] for item in items] == [callout.uri]  # one entry per object
    assert SECRET_PLACE not in str(items) and SECRET_CONTACT not in str(items)
    response = await node.client.get(created, headers={"Accept": AS2})
    assert response.status_code == 200
    assert SECRET_PLACE not in response.text and SECRET_CONTACT not in response.text
    assert response.json()["object"]["id"] == callout.uri
    assert response.json()["id"] == created


async def test_private_activities_are_not_served(node: Node) -> None:
    async with node.ctx.sessions() as session:
        session.add(
            OutboundActivity(
                uri=f"{node.base_url}/activities/accept1",
                local_actor_id=1,
                type="Accept",
                public=False,
                body='{"type":"Accept","object":{"actor":"https://x.example/users/follower"}}',
            )
        )
        await session.commit()
    response = await node.client.get("/activities/accept1", headers={"Accept": AS2})
    assert response.status_code == 404
    assert "follower" not in response.text
