"""Leases with an owner (``node.leases``), on SQLite and PostgreSQL: the heartbeat
extends only what this process holds, a new process frees the claims of the
dead ones on its host, and claims given back while the database is unreachable
are given back when it answers again."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from node.db import make_engine, make_sessionmaker
from node.leases import LEASE, PROCESS_STARTED, Leases, is_gone
from node.models import InboundActivity, WorkerProcess

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(migrated_database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(migrated_database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


def a_dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def worker(owner: str, *, host: str, pid: int, started: datetime) -> WorkerProcess:
    return WorkerProcess(id=owner, host=host, pid=pid, started_at=started, heartbeat_at=started)


def test_a_worker_is_gone_when_its_pid_is_dead_or_is_ours_from_before_we_started() -> None:
    here, before, after = "host-a", PROCESS_STARTED - timedelta(minutes=1), datetime.now(UTC)
    me = os.getpid()
    assert is_gone(worker("a", host=here, pid=a_dead_pid(), started=before), host=here, pid=me)
    assert is_gone(worker("b", host=here, pid=me, started=before), host=here, pid=me)
    # a sibling in this very process, and a live process, are not gone
    assert not is_gone(worker("c", host=here, pid=me, started=after), host=here, pid=me)
    assert not is_gone(worker("d", host=here, pid=os.getppid(), started=before), host=here, pid=me)
    # another host's processes are judged by their leases alone
    assert not is_gone(worker("e", host="b", pid=a_dead_pid(), started=before), host=here, pid=me)


async def add_activities(sessions: Sessions, owners: list[str | None]) -> list[int]:
    until = datetime.now(UTC) + LEASE
    rows = [
        InboundActivity(
            uri=f"https://remote.example/a/{n}",
            type="Follow",
            actor_uri="https://remote.example/u",
            payload={},
            locked_by=owner,
            locked_until=until if owner else None,
        )
        for n, owner in enumerate(owners)
    ]
    async with sessions() as session, session.begin():
        session.add_all(rows)
    return [row.id for row in rows]


async def locks(sessions: Sessions) -> list[tuple[str | None, datetime | None]]:
    async with sessions() as session:
        query = select(InboundActivity.locked_by, InboundActivity.locked_until)
        return [tuple(row) for row in (await session.execute(query.order_by("id"))).all()]


async def test_a_new_process_frees_the_claims_of_dead_processes_on_its_host(
    sessions: Sessions,
) -> None:
    me = Leases()
    before = PROCESS_STARTED - timedelta(minutes=1)
    async with sessions() as session, session.begin():
        session.add(worker("dead", host=me.host, pid=a_dead_pid(), started=before))
        session.add(worker("live", host=me.host, pid=os.getppid(), started=before))
        session.add(worker("far", host="elsewhere", pid=a_dead_pid(), started=before))
    await add_activities(sessions, ["dead", "live", "far"])
    assert await me.start(sessions) == ["dead"]
    assert [owner for owner, _ in await locks(sessions)] == [None, "live", "far"]
    async with sessions() as session:
        recorded = set((await session.scalars(select(WorkerProcess.id))).all())
    assert recorded == {"live", "far", me.owner}


async def test_the_heartbeat_extends_only_what_this_process_still_holds(
    sessions: Sessions,
) -> None:
    me = Leases()
    await me.start(sessions)
    held, finished, _other = await add_activities(sessions, [me.owner, me.owner, "other"])
    me.hold(InboundActivity, [held, finished])
    me.drop(InboundActivity, [finished])
    before = await locks(sessions)
    await me.renew(sessions)
    after = await locks(sessions)
    assert after[0][1] is not None and before[0][1] is not None and after[0][1] > before[0][1]
    assert after[1:] == before[1:]


async def test_claims_given_back_while_the_database_is_unreachable_go_back_when_it_answers(
    sessions: Sessions, tmp_path: Path
) -> None:
    me = Leases()
    await me.start(sessions)
    ids = await add_activities(sessions, [me.owner, me.owner])
    me.hold(InboundActivity, ids)
    unreachable = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'db'}")
    try:
        await me.give_back(make_sessionmaker(unreachable), InboundActivity, ids)
    finally:
        await unreachable.dispose()
    assert [owner for owner, _ in await locks(sessions)] == [me.owner, me.owner]
    await me.renew(sessions)  # the next heartbeat
    assert await locks(sessions) == [(None, None), (None, None)]
    assert me.held(InboundActivity) == set()
