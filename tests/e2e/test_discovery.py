"""Networks near yours: the nodes followed by the nodes this one follows, read
from their public ``following`` collections between real nodes, ranked,
bounded, cached, respecting hidden networks; ``tocsin discover`` and the admin
page with its follow button."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from node import discovery
from node.cli import main
from node.models import AuditEntry, Following, RemoteActor
from node.settings_store import set_setting
from tests.e2e.conftest import NodeFactory
from tests.support.admin import post_form
from tests.support.admin_federation import logged_in
from tests.support.fediverse import FakeServer
from tests.support.followed import accept, as_node_cli, ask_to_follow
from tests.support.following import describe, follow_and_wait
from tests.support.nodes import Node


def counting_fetches(monkeypatch: pytest.MonkeyPatch, node: Node) -> list[str]:
    """Every URL ``node`` fetches from now on."""
    fetched: list[str] = []
    original = node.ctx.directory.fetch

    async def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return await original(url)

    monkeypatch.setattr(node.ctx.directory, "fetch", fetch)
    return fetched


async def summary_of(node: Node) -> list[tuple[str, int]]:
    return [(c.network.name, c.followed_by) for c in await discovery.discover(node.ctx)]


@pytest.fixture
async def graph(start_node: NodeFactory, fediverse: FakeServer) -> dict[str, Node]:
    """a follows b and c; b follows d, eve (a fediverse account) and a; c follows d and b."""
    a, b = await start_node("haringey"), await start_node("hackney")
    c, d = await start_node("camden"), await start_node("dalston")
    await describe(d, "Dalston Renters", "Dalston", "Renters of Dalston.")
    eve = fediverse.add_account("eve")
    await accept(b, eve, await ask_to_follow(b, eve))
    for follower, target in ((a, b), (a, c), (b, d), (b, a), (c, d), (c, b)):
        await follow_and_wait(follower, target)
    return {"a": a, "b": b, "c": c, "d": d}


async def test_networks_two_hops_away_are_ranked_by_how_many_followed_networks_follow_them(
    graph: dict[str, Node], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = graph["a"], graph["b"]
    fetched = counting_fetches(monkeypatch, a)
    assert await summary_of(a) == [("Dalston Renters", 2), ("Eve", 1)]  # not a itself, nor b
    assert fetched
    fetched.clear()
    assert await summary_of(a) == [("Dalston Renters", 2), ("Eve", 1)]
    assert fetched == []  # within the hour: from the cache, nothing fetched

    as_node_cli(monkeypatch, a)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["discover"]) == 0
    out = capsys.readouterr().out
    assert f"  2  Dalston Renters  @dalston@{graph['d'].settings.host}  (Dalston)" in out

    async with b.ctx.sessions() as session, session.begin():
        await set_setting(session, "hide_network", True)  # b shows only how many it follows
    found = await discovery.discover(a.ctx, refresh=True)
    assert [(c.network.name, c.followed_by) for c in found] == [("Dalston Renters", 1)]


async def test_discovery_reads_no_more_than_its_bounds(
    graph: dict[str, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    a = graph["a"]
    monkeypatch.setattr(discovery, "MAX_FOLLOWED", 1)
    monkeypatch.setattr(discovery, "MAX_CANDIDATES", 1)
    fetched = counting_fetches(monkeypatch, a)
    found = await discovery.discover(a.ctx, refresh=True)
    assert len(found) == 1
    assert len([url for url in fetched if url.endswith("/following")]) == 1


async def test_the_admin_page_lists_nearby_networks_with_an_audited_follow_button(
    graph: dict[str, Node],
) -> None:
    a, d = graph["a"], graph["d"]
    async with logged_in(a) as admin:
        page = await admin.get("/admin/federation/nearby")
        assert page.status_code == 200
        assert "Dalston Renters" in page.text and "followed by 2 of your networks" in page.text
        async with a.ctx.sessions() as session:
            remote_id = await session.scalar(
                select(RemoteActor.id).where(RemoteActor.uri == d.actor_id)
            )
        forged = await admin.post(
            "/admin/federation/follow/confirm", data={"remote_id": str(remote_id)}
        )
        assert forged.status_code in (400, 403)
        sent = await post_form(
            admin,
            "/admin/federation/nearby",
            "/admin/federation/follow/confirm",
            remote_id=str(remote_id),
        )
        assert sent.status_code == 303
    async with a.ctx.sessions() as session:
        states = (await session.scalars(select(Following.state))).all()
        actions = (await session.scalars(select(AuditEntry.target))).all()
    assert len(states) == 3 and d.actor_id in actions
    assert [c.network.name for c in await discovery.discover(a.ctx)] == ["Eve"]
