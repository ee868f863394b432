"""Nothing about visitors or voters is logged: the real ``tocsin run`` (its own
logging set-up, its own uvicorn configuration) serves a remote-follow lookup, an
admin login, a websocket upgrade attempt and fediverse votes, and what it writes
to its log holds no client address, no handle and no voter id."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

from node.bootstrap import prepare
from node.content.models import Callout, CalloutResponse
from node.db import make_engine, make_sessionmaker
from node.users import create_user
from tests.e2e.conftest import eventually
from tests.support.admin import CALLOUT_FORM as CALLOUT
from tests.support.admin import login, post_form
from tests.support.clients import loopback_transport
from tests.support.databases import migrated_database
from tests.support.fediverse import FakeServer
from tests.support.keys import CHEAP_HASHER, next_key_pair
from tests.support.nodes import free_port, make_settings
from tests.support.published import vote

VISITOR = "127.0.0.23"  # the visitor's own loopback address; the node listens on 127.0.0.1
PASSWORD = "correct horse battery staple"


@asynccontextmanager
async def tocsin_run(env: dict[str, str], log: Path) -> AsyncIterator[None]:
    """``tocsin run`` as a process, its standard error written to ``log``."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from node.cli import main; raise SystemExit(main(['run']))",
            env={**os.environ, **env},
            stdout=sink,
            stderr=sink,
        )
        try:
            yield
        finally:
            process.terminate()
            await process.wait()


async def test_logs_hold_no_visitor_address_handle_or_voter(
    db_kind: str, tmp_path: Path, fediverse: FakeServer
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with migrated_database(db_kind, tmp_path) as url:
        settings = make_settings(tmp_path, url, base_url=base)
        await prepare(settings, first_admin=False, new_key_pair=next_key_pair)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            await create_user(
                session, "ada", "admin", PASSWORD, must_change=False, hasher=CHEAP_HASHER
            )
        env = {
            "TOCSIN_BASE_URL": base,
            "TOCSIN_LISTEN": f"127.0.0.1:{port}",
            "TOCSIN_DATA_DIR": str(settings.data_dir),
            "TOCSIN_DATABASE_URL": url,
            "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
        }
        log = tmp_path / "tocsin.log"
        visitor_transport = loopback_transport(local_address=VISITOR)
        alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
        async with (
            tocsin_run(env, log),
            httpx.AsyncClient(transport=visitor_transport, base_url=base) as visitor,
        ):

            async def up() -> bool:
                try:
                    return (await visitor.get("/nodeinfo/2.1")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout=30)
            handle = f"alice@{fediverse.authority}"
            looked_up = await visitor.post("/follow", data={"handle": handle})
            assert looked_up.status_code in (200, 303, 400, 502)  # their server has no template
            upgrade = {
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            }
            await visitor.get("/", headers=upgrade)
            assert (await login(visitor, "ada", PASSWORD)).status_code == 303
            created = await post_form(visitor, "/admin/callouts/new", **CALLOUT)
            assert created.status_code == 303
            async with sessions() as session:
                callout_uri = await session.scalar(select(Callout.uri))
            assert callout_uri is not None
            inbox = f"{base}/actors/network/inbox"
            for account in (alice, bob):
                sent = await account.post(inbox, vote(account, callout_uri, "I can come"))
                assert sent.status_code == 202

            async def counted() -> bool:
                async with sessions() as session:
                    return len((await session.scalars(select(CalloutResponse))).all()) == 2

            await eventually(counted, timeout=30)
            await asyncio.sleep(0.5)  # let the worker's log lines out
        await engine.dispose()
    written = log.read_text(errors="replace")
    assert "Application startup complete" in written  # the log was captured at all
    leaks = [
        line
        for line in written.splitlines()
        if any(s in line for s in (VISITOR, "alice", "bob", alice.id, bob.id))
    ]
    assert leaks == []
