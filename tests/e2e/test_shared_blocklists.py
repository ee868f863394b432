"""Shared block lists between real nodes (docs: README "Sharing block lists"):
one node publishes its blocks, another subscribes with ``tocsin blocks
subscribe``, its worker refreshes the list, and a local unblock sticks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from node.block_csv import BlockEntry
from node.blocklists import block_many
from node.blocks import unblock_domain
from node.models import BlocklistSubscription, BlockOverride, DomainBlock, utcnow
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.cli import tocsin
from tests.support.nodes import Node

AS2 = "application/activity+json"


def handle(node: Node) -> str:
    return f"@{node.settings.node_name}@{node.settings.host}"


async def blocks_of(node: Node) -> dict[str, str]:
    """Blocked domain → where the block came from."""
    async with node.ctx.sessions() as session:
        rows = (await session.scalars(select(DomainBlock))).all()
    return {row.domain: row.source for row in rows}


async def block_locally(node: Node, domain: str, public: str, private: str = "") -> None:
    async with node.ctx.sessions() as session, session.begin():
        entry = BlockEntry(domain, "suspend", public)
        await block_many(session, [entry], source="local", own_host=node.settings.host)
        row = await session.get(DomainBlock, domain)
        assert row is not None
        row.reason = private


async def actor_doc(node: Node) -> dict[str, object]:
    response = await node.client.get(node.actor_id, headers={"Accept": AS2})
    return dict(response.json())


async def test_published_list_is_off_by_default_and_then_carries_public_reasons_only(
    start_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = await start_node("haringey", worker=False)
    await block_locally(a, "hostile.example", "Harassment, doxxing", private="report #12")
    url = f"{a.actor_id}/blocklist"
    assert "blockList" not in await actor_doc(a)
    refused = await a.client.get(url, headers={"Accept": AS2})
    assert refused.status_code == 404
    assert "does not publish" in refused.json()["error"]

    assert await tocsin(monkeypatch, a, "blocks", "publish", "on") == 0

    async def linked() -> bool:  # the actor document may lag an edit by a second
        return (await actor_doc(a)).get("blockList") == url

    await eventually(linked)
    collection = (await a.client.get(url, headers={"Accept": AS2})).json()
    assert collection["totalItems"] == 1 and collection["first"] == f"{url}?page=1"
    page = (await a.client.get(collection["first"], headers={"Accept": AS2})).json()
    [item] = page["orderedItems"]
    assert item["type"] == "DomainBlock" and item["domain"] == "hostile.example"
    assert item["severity"] == "suspend" and item["publicReason"] == "Harassment, doxxing"
    assert "report #12" not in str(page) and item["published"].endswith("Z")
    assert await tocsin(monkeypatch, a, "blocks", "publish", "off") == 0
    assert (await a.client.get(url, headers={"Accept": AS2})).status_code == 404


async def test_subscriber_takes_the_list_refreshes_it_and_keeps_its_own_unblock(
    start_node: NodeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await block_locally(a, "hostile.example", "Harassment")
    await block_locally(a, "spam.example", "Spam")
    await block_locally(b, "own-choice.example", "ours")
    assert await tocsin(monkeypatch, a, "blocks", "publish", "on") == 0

    assert await tocsin(monkeypatch, b, "blocks", "subscribe", handle(a)) == 0
    assert await blocks_of(b) == {
        "hostile.example": a.actor_id,
        "spam.example": a.actor_id,
        "own-choice.example": "local",
    }
    async with b.ctx.sessions() as session:
        row = await session.get(DomainBlock, "hostile.example")
        assert row is not None and row.public_reason == "Harassment"
    assert await b.ctx.blocks.is_blocked("sub.hostile.example")  # the cache was invalidated

    # the source changes: one block more, one lifted
    await block_locally(a, "new-threat.example", "Surveillance")
    async with a.ctx.sessions() as session, session.begin():
        await unblock_domain(session, "spam.example")
    # a local unblock on the subscriber overrides the list
    assert await tocsin(monkeypatch, b, "unblock", "hostile.example") == 0
    await refresh_soon(b)

    async def refreshed() -> bool:
        return await blocks_of(b) == {
            "new-threat.example": a.actor_id,
            "own-choice.example": "local",
        }

    await eventually(refreshed)  # by the worker's job, hostile.example not brought back
    async with b.ctx.sessions() as session:
        assert await session.get(BlockOverride, ("hostile.example", a.actor_id)) is not None

    assert await tocsin(monkeypatch, b, "blocks", "unsubscribe", a.actor_id) == 0
    assert await blocks_of(b) == {"own-choice.example": "local"}


async def refresh_soon(node: Node) -> None:
    """Make every subscription due, as six hours passing would, and wake the worker."""
    async with node.ctx.sessions() as session, session.begin():
        past = utcnow() - timedelta(seconds=1)
        await session.execute(update(BlocklistSubscription).values(next_refresh_at=past))
    node.ctx.wake()


async def test_subscribing_to_a_node_that_publishes_nothing_says_so(
    start_node: NodeFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = await start_node("haringey", worker=False), await start_node("hackney", worker=False)
    assert await tocsin(monkeypatch, b, "blocks", "subscribe", handle(a)) == 2
    assert "does not publish a block list" in capsys.readouterr().err
    async with b.ctx.sessions() as session:
        assert await session.scalar(select(BlocklistSubscription.id)) is None
