"""Failed logins are throttled per account and client, in memory only: an
attacker guessing from other addresses slows themselves down, never the
account's owner on their own device."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from node.users import create_user
from tests.e2e.conftest import NodeFactory
from tests.support.admin import login
from tests.support.clients import loopback_transport
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "the owner's passphrase"


@asynccontextmanager
async def browser_at(node: Node, source: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser whose requests come from the loopback address ``source``."""
    transport = loopback_transport(local_address=source)
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as client:
        yield client


async def owner_node(start_node: NodeFactory) -> Node:
    node = await start_node(worker=False)
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, "ada", "admin", PASSWORD, must_change=False, hasher=CHEAP_HASHER)
    return node


async def test_failed_logins_elsewhere_do_not_lock_the_owner_out(start_node: NodeFactory) -> None:
    node = await owner_node(start_node)
    for n in range(2, 12):  # ten attackers, a few guesses each
        async with browser_at(node, f"127.0.0.{n}") as attacker:
            for _ in range(3):
                assert (await login(attacker, "ada", "a wrong guess")).status_code in (401, 429)
    async with browser_at(node, "127.0.0.20") as owner:
        response = await login(owner, "ada", PASSWORD)
        assert response.status_code == 303, f"the owner got {response.status_code}"
        assert (await owner.get("/admin")).status_code == 200


async def test_one_address_guessing_is_slowed_down_more_and_more(start_node: NodeFactory) -> None:
    node = await owner_node(start_node)
    async with browser_at(node, "127.0.0.2") as attacker:
        statuses = [(await login(attacker, "ada", "a wrong guess")).status_code for _ in range(12)]
        assert statuses[:5] == [401] * 5
        assert statuses.count(429) >= 6, statuses
        refused = await login(attacker, "ada", PASSWORD)  # even the right password must wait
        assert refused.status_code == 429
        assert "Try again in" in refused.text and "second" in refused.text
    async with browser_at(node, "127.0.0.3") as owner:
        assert (await login(owner, "ada", PASSWORD)).status_code == 303
