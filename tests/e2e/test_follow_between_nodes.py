"""Nodes following each other: three real nodes, each its own HTTP server on
its own loopback port with its own database, talking through the real code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from node import follows
from node.identity import group_actor
from node.models import Follower, Following
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.cli import tocsin
from tests.support.following import handle, start_following
from tests.support.nodes import Node

AS2 = "application/activity+json"


async def collection(node: Node, kind: str) -> list[str]:
    page = (await node.client.get(f"{node.actor_id}/{kind}?page=1", headers={"Accept": AS2})).json()
    return list(page["orderedItems"])


async def following_state(node: Node, target: Node) -> str | None:
    async with node.ctx.sessions() as session:
        rows = await session.scalars(select(Following.state))
        states = rows.all()
    return states[0] if states else None


async def set_manual_approval(node: Node, on: bool) -> None:
    async with node.ctx.sessions() as session, session.begin():
        (await group_actor(session)).manually_approves_followers = on


async def test_node_follows_node_and_both_sides_agree(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await start_following(a, b)

    async def agreed() -> bool:
        return await collection(a, "following") == [b.actor_id] and await collection(
            b, "followers"
        ) == [a.actor_id]

    await eventually(agreed)
    assert await collection(a, "followers") == []
    assert await collection(b, "following") == []


async def test_manual_approval_keeps_the_follow_pending_until_approved(
    start_node: NodeFactory,
) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await set_manual_approval(b, True)
    actor = (await b.client.get(b.actor_id, headers={"Accept": AS2})).json()
    assert actor["manuallyApprovesFollowers"] is True
    await start_following(a, b)

    async def request_arrived() -> bool:
        async with b.ctx.sessions() as session:
            return (await session.scalar(select(Follower.state))) == "pending"

    await eventually(request_arrived)
    assert await following_state(a, b) == "pending"
    assert await collection(b, "followers") == []
    async with b.ctx.sessions() as session, session.begin():
        await follows.approve_follower(b.ctx, session, a.actor_id)
    b.ctx.wake()

    async def accepted() -> bool:
        return await following_state(a, b) == "accepted"

    await eventually(accepted)
    assert await collection(b, "followers") == [a.actor_id]


async def test_rejected_follow_request_is_dropped_on_both_sides(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await set_manual_approval(b, True)
    await start_following(a, b)

    async def request_arrived() -> bool:
        async with b.ctx.sessions() as session:
            return (await session.scalar(select(Follower.state))) == "pending"

    await eventually(request_arrived)
    async with b.ctx.sessions() as session, session.begin():
        await follows.reject_follower(b.ctx, session, a.actor_id)
    b.ctx.wake()

    async def dropped() -> bool:
        return await following_state(a, b) is None

    await eventually(dropped)
    async with b.ctx.sessions() as session:
        assert await session.scalar(select(Follower.id)) is None


async def test_unfollow_sends_undo_and_the_follower_is_removed(start_node: NodeFactory) -> None:
    a, b = await start_node("haringey"), await start_node("hackney")
    await start_following(a, b)

    async def followed() -> bool:
        return await collection(b, "followers") == [a.actor_id]

    await eventually(followed)
    remote = await follows.resolve_target(a.ctx, b.actor_id)
    async with a.ctx.sessions() as session, session.begin():
        await follows.unfollow(a.ctx, session, remote)
    a.ctx.wake()
    assert await collection(a, "following") == []

    async def unfollowed() -> bool:
        return await collection(b, "followers") == []

    await eventually(unfollowed)
    await start_following(a, b)  # a re-follow after Undo works, under a new id
    await eventually(followed)


async def test_three_nodes_follow_each_other_mutually(start_node: NodeFactory) -> None:
    a, b, c = await start_node("haringey"), await start_node("hackney"), await start_node("camden")
    for follower, target in [(a, b), (b, a), (a, c), (c, a)]:
        await start_following(follower, target)

    async def mesh() -> bool:
        return (
            sorted(await collection(a, "following")) == sorted([b.actor_id, c.actor_id])
            and sorted(await collection(a, "followers")) == sorted([b.actor_id, c.actor_id])
            and await collection(b, "followers") == [a.actor_id]
            and await collection(b, "following") == [a.actor_id]
            and await collection(c, "followers") == [a.actor_id]
            and await collection(c, "following") == [a.actor_id]
        )

    await eventually(mesh)


async def test_cli_follow_reaches_the_running_node_and_lists_states(
    start_node: NodeFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI's own engine and settings, as a shell beside the running node has
    (run in this process: the node's worker, not the CLI, must do the delivery)."""
    a, b = await start_node("haringey"), await start_node("hackney")
    capsys.readouterr()
    assert await tocsin(monkeypatch, a, "follow", handle(b)) == 0, capsys.readouterr().err
    assert "pending until it accepts" in capsys.readouterr().out

    async def accepted() -> bool:
        return await following_state(a, b) == "accepted"

    await eventually(accepted)  # the running node's worker delivered what the CLI queued
    assert await tocsin(monkeypatch, a, "following") == 0
    assert f"accepted  {b.actor_id}" in capsys.readouterr().out
    assert await tocsin(monkeypatch, a, "follow", "@nobody@127.0.0.1:1") == 2
    err = capsys.readouterr().err  # the nodes running in this process may log beside it
    said = [line for line in err.splitlines() if line.startswith("tocsin: ")]
    assert len(said) == 1 and "Traceback" not in err, err
