"""Records of who answered expire: a deleted callout takes its voters with it,
and processed received activities are purged after ``TOCSIN_RETENTION_DAYS``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from node.config import ConfigError, load_settings
from node.content import callouts as co
from node.content.lookup import find_local
from node.content.models import Callout
from node.jobs import run_jobs
from node.models import Base, Delivery, InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.fediverse import FakeServer
from tests.support.nodes import Node
from tests.support.published import publish_callout, vote


async def _rows_mentioning(node: Node, needle: str) -> list[str]:
    """Every row of every table whose text holds ``needle``: "table: row"."""
    found = []
    async with node.ctx.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(select(table))
            found += [f"{table.name}: {row}"[:200] for row in rows if needle in str(row)]
    return found


async def test_deleted_callout_leaves_no_trace_of_its_voters(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network")
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    callout = await publish_callout(a)
    inbox = f"{a.actor_id}/inbox"
    for account, option in [(alice, "I can come"), (bob, "I can help another way")]:
        assert (await account.post(inbox, vote(account, callout.uri, option))).status_code == 202

    voters_inbox = f"{fediverse.base}/inbox"  # their shared inbox

    async def tallied() -> bool:  # the tally Update is queued to the voters
        async with a.ctx.sessions() as session:
            to_voters = await session.scalars(
                select(Delivery.inbox_url).where(Delivery.inbox_url == voters_inbox)
            )
            return to_voters.first() is not None

    await eventually(tallied, timeout=20)
    assert await _rows_mentioning(a, alice.id)  # the test can see a trace while there is one
    async with a.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        assert mine is not None
        await co.delete_callout(a.ctx, session, mine)
    for account in (alice, bob):
        assert await _rows_mentioning(a, account.id) == []
    assert await _rows_mentioning(a, voters_inbox) == []


def _inbound(uri: str, state: str, age: timedelta) -> InboundActivity:
    then = datetime.now(UTC) - age
    return InboundActivity(
        uri=uri,
        type="Create",
        actor_uri="https://social.example/users/voter",
        payload={"id": uri, "actor": "https://social.example/users/voter"},
        state=state,
        received_at=then,
        processed_at=None if state == "pending" else then,
    )


async def test_processed_received_activities_expire_after_the_retention_window(
    start_node: NodeFactory,
) -> None:
    node = await start_node("network", worker=False, TOCSIN_RETENTION_DAYS="7")
    async with node.ctx.sessions() as session, session.begin():
        session.add_all(
            [
                _inbound("https://social.example/old-done", "done", timedelta(days=8)),
                _inbound("https://social.example/old-failed", "failed", timedelta(days=9)),
                _inbound("https://social.example/new-done", "done", timedelta(days=6)),
                _inbound("https://social.example/old-pending", "pending", timedelta(days=30)),
            ]
        )
    await run_jobs(node.ctx)
    async with node.ctx.sessions() as session:
        kept = set((await session.scalars(select(InboundActivity.uri))).all())
    assert kept == {"https://social.example/new-done", "https://social.example/old-pending"}


@pytest.mark.parametrize("value", ["soon", "0", "-1", "99999999", "7.5"])
def test_retention_days_must_be_a_sane_whole_number(tmp_path: Path, value: str) -> None:
    env = {"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_RETENTION_DAYS": value}
    with pytest.raises(ConfigError, match="TOCSIN_RETENTION_DAYS"):
        load_settings(env)


def test_retention_defaults_to_seven_days(tmp_path: Path) -> None:
    assert load_settings({"TOCSIN_DATA_DIR": str(tmp_path)}).retention_days == 7
