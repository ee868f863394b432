"""Urgent callouts travel: C follows B follows A, relaying on at B and C, and a
fediverse account follows C: A's urgent callout reaches it within seconds, and
so does its cancellation; nothing goes back to A although A follows C with
relaying on too; each node relays a callout once, and no more once it is over."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from node.cli import main
from node.content import callouts as co
from node.content.lookup import find_local
from node.content.models import Callout
from node.models import AuditEntry, Delivery, Following, InboundActivity, RelayedCallout
from node.settings_store import set_setting
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.admin import post_form
from tests.support.admin_federation import logged_in
from tests.support.fediverse import FakeServer, Received
from tests.support.followed import as_node_cli
from tests.support.following import follow_and_wait, handle
from tests.support.nodes import Node
from tests.support.published import publish_callout, stored_callout


async def relayed(node: Node) -> list[RelayedCallout]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(RelayedCallout))).all())


async def test_an_urgent_callout_and_its_cancellation_travel_two_hops_and_never_loop(
    start_node: NodeFactory, fediverse: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c = await start_node("haringey"), await start_node("hackney"), await start_node("camden")
    await follow_and_wait(b, a)
    as_node_cli(monkeypatch, b)  # on a network already followed: turns relaying on
    assert await asyncio.to_thread(main, ["follow", handle(a), "--relay-urgent"]) == 0
    async with c.ctx.sessions() as session, session.begin():
        await set_setting(session, "relay_urgent_default", True)  # the default for new follows
    await follow_and_wait(c, b)
    await follow_and_wait(a, c)
    async with a.ctx.sessions() as session, session.begin():
        (await session.scalars(select(Following))).one().relay_urgent = True  # a loop, if it could
    fan = fediverse.add_account("fan")
    assert (await fan.post(f"{c.actor_id}/inbox", fan.follow(c.actor_id))).status_code == 202
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")

    callout = await publish_callout(a)

    def announced(r: Received) -> bool:
        return r.activity["type"] == "Announce" and r.activity["object"] == callout.uri

    got = await fediverse.wait_for(announced, timeout=15)
    assert got.verified and got.activity["actor"] == c.actor_id
    copy = await stored_callout(c, callout.uri)
    assert copy is not None and copy.actor_uri == a.actor_id  # its origin kept, not b's
    assert [r.object_uri for r in await relayed(b)] == [callout.uri]
    assert [r.object_uri for r in await relayed(c)] == [callout.uri]
    assert await relayed(a) == []

    async with a.ctx.sessions() as session, session.begin():
        await co.set_status(
            a.ctx, session, await find_local(session, Callout, callout.uri), "cancelled"
        )
    a.ctx.wake()

    def told(r: Received) -> bool:
        obj = r.activity.get("object")
        return isinstance(obj, dict) and obj.get("inReplyTo") == callout.uri

    note = (await fediverse.wait_for(told, timeout=15)).activity["object"]
    assert "UPDATE from haringey: CANCELLED" in note["content"]

    async def finished_everywhere() -> bool:
        rows = [*await relayed(b), *await relayed(c)]
        return len(rows) == 2 and all(r.finished and r.status == "cancelled" for r in rows)

    await eventually(finished_everywhere)
    await asyncio.sleep(1)  # anything still travelling would arrive now
    async with a.ctx.sessions() as session:
        back = await session.scalar(
            select(func.count())
            .select_from(InboundActivity)
            .where(InboundActivity.type.in_(["Announce", "Create"]))
        )
    assert back == 0  # nothing came back to the origin
    async with c.ctx.sessions() as session:
        to_a = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.domain == a.settings.host)
        )
    assert to_a == 1  # only the Accept of a's Follow
    assert len([r for r in fediverse.received if announced(r)]) == 1
    assert len([r for r in fediverse.received if told(r)]) == 1


async def test_a_callout_that_is_not_urgent_is_not_relayed(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    async with b.ctx.sessions() as session, session.begin():
        (await session.scalars(select(Following))).one().relay_urgent = True
    form = co.CalloutForm(
        title="Leaflets",
        needed="Hands",
        people="3",
        until="2099-01-01 09:00",
        urgency="soon",
        contact="",
        address="",
        timezone="UTC",
    )
    async with a.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(a.ctx, session, form)
    a.ctx.wake()

    async def arrived() -> bool:
        return await stored_callout(b, callout.uri) is not None

    await eventually(arrived)
    assert await relayed(b) == []


async def test_an_admin_switches_relaying_per_network_and_for_new_follows(
    start_node: NodeFactory,
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(b, a)
    async with logged_in(b) as admin:
        page = await admin.get("/admin/federation")
        assert 'name="relay_urgent"' in page.text and 'name="relay_urgent_default"' in page.text
        forged = await admin.post(
            "/admin/federation/following/1/relay", data={"relay_urgent": "on"}
        )
        assert forged.status_code in (400, 403)
        saved = await post_form(
            admin, "/admin/federation", "/admin/federation/following/1/relay", relay_urgent="on"
        )
        assert saved.status_code == 303
        await post_form(
            admin, "/admin/federation", "/admin/federation/relay-default", relay_urgent_default="on"
        )
    async with b.ctx.sessions() as session:
        assert (await session.scalars(select(Following))).one().relay_urgent is True
        actions = set((await session.scalars(select(AuditEntry.action))).all())
    assert {"relay.urgent", "relay.default"} <= actions
