"""Nothing accepted is lost: an activity answered 202 is processed even if the
process dies before it gets to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from node.inbound import InboundProcessor
from node.models import InboundActivity
from node.worker import run_worker
from tests.support.databases import empty_database
from tests.support.fediverse import FakeServer
from tests.support.nodes import free_port, http_node, make_settings


async def test_activity_accepted_before_a_crash_is_processed_after_restart(
    db_kind: str, tmp_path: Path, fediverse: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = fediverse.add_account("alice")
    async with empty_database(db_kind, tmp_path) as database_url:
        port = free_port()
        settings = make_settings(tmp_path, database_url, base_url=f"http://127.0.0.1:{port}")
        with monkeypatch.context() as crash:
            # the process "dies" right after answering: nothing processes the activity
            def die(self: InboundProcessor) -> None:
                return None

            crash.setattr(InboundProcessor, "kick", die)
            async with http_node(settings) as node:
                follow = alice.follow(node.actor_id)
                assert (await alice.post(f"{node.actor_id}/inbox", follow)).status_code == 202
                async with node.ctx.sessions() as session:
                    row = await session.scalar(select(InboundActivity))
                    assert row is not None and row.state == "pending"
        assert fediverse.received == []
        async with http_node(settings, background=[run_worker]) as node:
            accept = await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
            assert accept.activity["object"]["id"] == follow["id"]
            async with node.ctx.sessions() as session:
                row = await session.scalar(select(InboundActivity))
                assert row is not None and row.state == "done"
