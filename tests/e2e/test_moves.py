"""Moving a node to a new domain between real nodes (docs/moving.md): ``tocsin
alias add`` on the new node, ``tocsin move`` on the old one, and a follower
node and a fake Mastodon account that get the ``Move``; a ``Move`` whose
target does not list the old actor is refused."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.responses import JSONResponse

from node import follows
from node.content.models import Event
from node.models import InboundActivity
from tests.support.cli import tocsin
from tests.support.fediverse import FakeServer
from tests.support.moving import (
    Nodes,
    fediverse_follows,
    follow_and_wait,
    following_state,
    handle,
    nodes_on,
)
from tests.support.nodes import Node, eventually
from tests.support.pages import make_event

AS2 = "application/activity+json"


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Nodes]:
    async with nodes_on(tmp_path) as started:
        yield started


async def actor_doc(node: Node) -> dict[str, object]:
    return dict((await node.client.get(node.actor_id, headers={"Accept": AS2})).json())


async def event_origin(node: Node, title: str) -> tuple[str, str] | None:
    async with node.ctx.sessions() as session:
        event = await session.scalar(select(Event).where(Event.title == title))
    return None if event is None else (event.actor_uri, event.origin_domain)


async def has_event_from(node: Node, title: str, origin: Node) -> bool:
    return await event_origin(node, title) == (origin.actor_id, origin.settings.host)


async def test_move_brings_a_follower_node_and_a_mastodon_account_to_the_new_actor(
    db_kind: str,
    nodes: Nodes,
    fediverse: FakeServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new, follower = (
        await nodes("haringey", db_kind),
        await nodes("haringey", db_kind),
        await nodes("hackney", db_kind),
    )
    await follow_and_wait(follower, old)
    await fediverse_follows(fediverse.add_account("rosa"), old)
    await make_event(old, title="Rent strike meeting")
    old.ctx.wake()
    await eventually(lambda: has_event_from(follower, "Rent strike meeting", old))

    assert await tocsin(monkeypatch, old, "move", handle(new)) == 2  # no alias yet
    assert "does not list" in capsys.readouterr().err
    assert await tocsin(monkeypatch, new, "alias", "add", handle(old)) == 0
    assert await tocsin(monkeypatch, new, "alias", "list") == 0
    assert old.actor_id in capsys.readouterr().out

    async def aliased() -> bool:
        return (await actor_doc(new)).get("alsoKnownAs") == [old.actor_id]

    await eventually(aliased)
    assert await tocsin(monkeypatch, old, "move", handle(new)) == 0
    assert "Move queued to 2 followers" in capsys.readouterr().out

    move = await fediverse.wait_for(lambda r: r.activity.get("type") == "Move")
    assert move.verified and move.activity["actor"] == move.activity["object"] == old.actor_id
    assert move.activity["target"] == new.actor_id
    await eventually(lambda: following_state(follower, new.actor_id, "accepted"))
    await eventually(lambda: following_state(follower, old.actor_id, None))
    assert await has_event_from(follower, "Rent strike meeting", new)  # kept, re-homed

    async def moved_to() -> bool:
        return (await actor_doc(old)).get("movedTo") == new.actor_id

    await eventually(moved_to)


async def processed(node: Node, activity_id: str) -> bool:
    async with node.ctx.sessions() as session:
        state = await session.scalar(
            select(InboundActivity.state).where(InboundActivity.uri == activity_id)
        )
    return state == "done"


async def test_move_to_an_actor_that_does_not_list_the_old_one_is_refused(
    db_kind: str,
    nodes: Nodes,
    fediverse: FakeServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    follower = await nodes("hackney", db_kind)
    mallory = fediverse.add_account("mallory")
    fediverse.add_account("decoy", 1)
    remote = await follows.resolve_target(follower.ctx, mallory.id)
    async with follower.ctx.sessions() as session, session.begin():
        await follows.follow(follower.ctx, session, remote)
    decoy_id = f"{fediverse.base}/users/decoy"

    def move_to(target: str) -> dict[str, object]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": mallory.new_id(),
            "type": "Move",
            "actor": mallory.id,
            "object": mallory.id,
            "target": target,
        }

    refused = move_to(decoy_id)
    with caplog.at_level(logging.INFO, logger="node.moves"):
        assert (await mallory.post(f"{follower.base_url}/inbox", refused)).status_code == 202
        await eventually(lambda: processed(follower, str(refused["id"])))
    assert "refusing Move" in caplog.text and "in alsoKnownAs" in caplog.text  # URLs redacted
    assert await following_state(follower, mallory.id, "pending")
    assert await following_state(follower, decoy_id, None)

    # the same Move once the target does list the old actor is followed
    listed = {**fediverse.accounts["decoy"].document(), "alsoKnownAs": [mallory.id]}
    fediverse.override["/users/decoy"] = lambda: JSONResponse(listed, media_type=AS2)
    accepted = move_to(decoy_id)
    assert (await mallory.post(f"{follower.base_url}/inbox", accepted)).status_code == 202
    await eventually(lambda: following_state(follower, decoy_id, "pending"))
    assert await following_state(follower, mallory.id, None)
