"""``tocsin export`` and ``tocsin import`` between real nodes (docs/moving.md):
everything the old node is arrives in a new, empty node on another address,
SQLite to SQLite and SQLite to PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from node.content.models import Callout, Event
from node.export import is_empty
from node.identity import group_actor
from node.models import DomainBlock
from node.settings_store import get_setting, set_setting
from tests.e2e.conftest import NodeFactory
from tests.support.cli import tocsin
from tests.support.databases import postgres_url
from tests.support.fediverse import FakeServer
from tests.support.moving import (
    fediverse_follows,
    file_mode,
    follow_and_wait,
    following_state,
    nodes_on,
    read_json,
    write_json,
)
from tests.support.nodes import Node, eventually
from tests.support.pages import make_callout, make_event


async def furnish(old: Node, friend: Node, fediverse: FakeServer) -> None:
    """An old node with a profile, content, a block, a follow and a follower."""
    async with old.ctx.sessions() as session, session.begin():
        actor = await group_actor(session)
        actor.display_name, actor.summary = "Haringey Tenants", "We organise."
        await set_setting(session, "blocklist_published", True)
        session.add(DomainBlock(domain="hostile.example", public_reason="Harassment"))
    await make_event(old, title="Tenants' assembly")
    await make_callout(old, title="Eviction at 7am")
    await follow_and_wait(old, friend)
    await fediverse_follows(fediverse.add_account("rosa"), old)


async def check_restored(old: Node, new: Node, friend: Node) -> None:
    async with new.ctx.sessions() as session:
        actor = await group_actor(session)
        assert (actor.display_name, actor.summary) == ("Haringey Tenants", "We organise.")
        assert await get_setting(session, "blocklist_published") is True
        event = await session.scalar(select(Event).where(Event.title == "Tenants' assembly"))
        callout = await session.scalar(select(Callout).where(Callout.title == "Eviction at 7am"))
        block = await session.get(DomainBlock, "hostile.example")
        former = await get_setting(session, "former_followers")
        moved_from = await get_setting(session, "moved_from")
    assert event is not None and event.uri.startswith(f"{new.base_url}/events/")
    assert event.actor_uri == new.actor_id and event.tags == ["housing"]
    assert callout is not None and callout.uri.startswith(f"{new.base_url}/callouts/")
    assert callout.urgency == "urgent" and callout.people_needed == 20
    assert block is not None and block.public_reason == "Harassment"
    assert moved_from == old.actor_id and former and former[0].endswith("/users/rosa")
    page = await new.client.get(event.uri, headers={"Accept": "application/activity+json"})
    assert page.status_code == 200 and page.json()["name"] == "Tenants' assembly"
    # the follow was sent again from the new actor, and the friend accepted it
    await eventually(lambda: following_state(new, friend.actor_id, "accepted"))


async def export_with_keys(
    old: Node, path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await tocsin(monkeypatch, old, "export", str(path), "--with-keys") == 0
    assert "holds the node's private key" in capsys.readouterr().out
    assert file_mode(path) == 0o600
    doc = read_json(path)
    assert doc["tocsin_export"] == 1 and "PRIVATE KEY" in doc["actor"]["private_key_pem"]


async def test_export_then_import_into_an_empty_node_restores_it_under_new_urls(
    start_node: NodeFactory,
    fediverse: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, friend = await start_node("haringey"), await start_node("hackney")
    new = await start_node("haringey")
    await furnish(old, friend, fediverse)
    plain = tmp_path / "plain.json"
    assert await tocsin(monkeypatch, old, "export", str(plain)) == 0
    assert "private_key_pem" not in read_json(plain)["actor"]
    assert "private key" not in capsys.readouterr().out
    path = tmp_path / "haringey.json"
    await export_with_keys(old, path, monkeypatch, capsys)

    assert await tocsin(monkeypatch, new, "import", str(path)) == 0
    assert "1 followers of" in capsys.readouterr().out
    await check_restored(old, new, friend)

    assert await tocsin(monkeypatch, new, "import", str(path)) == 2  # not empty any more
    err = capsys.readouterr().err
    # one line for the person (the node running in this test process may log beside it)
    assert "tocsin: this node is not empty; import only into a new node\n" in err
    assert "Traceback" not in err
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    assert await tocsin(monkeypatch, new, "import", str(tmp_path / "junk.json")) == 2
    assert "not a Tocsin export" in capsys.readouterr().err


async def test_a_damaged_export_is_refused_and_leaves_the_node_empty(
    start_node: NodeFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = await start_node("haringey", worker=False), await start_node("hackney", worker=False)
    await make_event(old, title="Tenants' assembly")
    path = tmp_path / "old.json"
    assert await tocsin(monkeypatch, old, "export", str(path)) == 0
    doc = read_json(path)
    doc["events"][0]["starts_at"] = "next Tuesday"
    doc["blocks"] = [{"domain": "a.example", "colour": "red"}]
    for damage, message in (("events", "is damaged"), ("blocks", "unknown field 'colour'")):
        broken = {**read_json(path), damage: doc[damage]}
        write_json(tmp_path / "broken.json", broken)
        assert await tocsin(monkeypatch, new, "import", str(tmp_path / "broken.json")) == 2
        err = capsys.readouterr().err
        # one line for the person (the nodes running in this test process may log beside it)
        said = [line for line in err.splitlines() if line.startswith("tocsin: ")]
        assert len(said) == 1 and message in said[0] and "Traceback" not in err
    async with new.ctx.sessions() as session:
        assert await is_empty(session)


@pytest.mark.skipif(postgres_url() is None, reason="TOCSIN_TEST_POSTGRES_URL is not set")
async def test_export_from_sqlite_imports_into_postgresql(
    fediverse: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with nodes_on(tmp_path) as start:
        old, friend = await start("haringey", "sqlite"), await start("hackney", "sqlite")
        new = await start("haringey", "postgres")
        await furnish(old, friend, fediverse)
        path = tmp_path / "haringey.json"
        await export_with_keys(old, path, monkeypatch, capsys)
        assert await tocsin(monkeypatch, new, "import", str(path)) == 0
        await check_restored(old, new, friend)
