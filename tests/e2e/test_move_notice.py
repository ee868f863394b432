"""The notice sent when the old domain is already gone (docs/moving.md): the
new node sends each former follower a ``Move`` signed with the old actor's key
from the export; a Tocsin follower verifies it against the key it kept and
moves, while a server that fetches the key at its dead address cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from node.content.models import Event
from tests.support.cli import tocsin
from tests.support.fediverse import FakeServer
from tests.support.moving import (
    Nodes,
    fediverse_follows,
    follow_and_wait,
    following_state,
    nodes_on,
)
from tests.support.nodes import Node, eventually
from tests.support.pages import make_event


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[Nodes]:
    async with nodes_on(tmp_path) as started:
        yield started


async def origin_of(node: Node, title: str) -> str | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Event.actor_uri).where(Event.title == title))


async def test_notice_signed_with_the_old_key_moves_a_follower_node_after_the_domain_is_gone(
    db_kind: str,
    nodes: Nodes,
    fediverse: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = await nodes("haringey", db_kind), await nodes("haringey", db_kind)
    follower = await nodes("hackney", db_kind)
    await follow_and_wait(follower, old)
    await fediverse_follows(fediverse.add_account("rosa"), old)
    await make_event(old, title="Rent strike meeting")
    old.ctx.wake()

    async def event_arrived() -> bool:
        return await origin_of(follower, "Rent strike meeting") == old.actor_id

    await eventually(event_arrived)
    export, plain = tmp_path / "old.json", tmp_path / "plain.json"
    assert await tocsin(monkeypatch, old, "export", str(export), "--with-keys") == 0
    assert await tocsin(monkeypatch, old, "export", str(plain)) == 0
    old_actor = old.actor_id
    await nodes.stop(old)  # the domain is gone
    capsys.readouterr()

    assert await tocsin(monkeypatch, new, "move", "--from-export", str(plain)) == 2
    assert "--with-keys" in capsys.readouterr().err
    assert await tocsin(monkeypatch, new, "move", "--from-export", str(export)) == 2
    assert f"tocsin alias add {old_actor}" in capsys.readouterr().err
    assert await tocsin(monkeypatch, new, "import", str(export)) == 0
    assert await tocsin(monkeypatch, new, "alias", "add", old_actor) == 0  # a URL: no fetch
    capsys.readouterr()

    assert await tocsin(monkeypatch, new, "move", "--from-export", str(export)) == 1
    out = capsys.readouterr().out
    assert f"delivered (202)        {follower.base_url}/inbox" in out
    assert f"refused (500)          {fediverse.base}/inbox" in out  # it fetched the dead key
    assert "Notice sent to 1 of 2 inboxes." in out

    await eventually(lambda: following_state(follower, new.actor_id, "accepted"))
    assert await following_state(follower, old_actor, None)
    assert await origin_of(follower, "Rent strike meeting") == new.actor_id
