"""A node following a fediverse account (a FakeServer's), driven by hand: the
test decides when the account's Accept arrives, and posts what it publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from node import follows
from tests.support.fediverse import Account
from tests.support.nodes import Node

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"


async def ask_to_follow(node: Node, account: Account) -> dict[str, Any]:
    """Send the node's Follow of ``account``; returns it as the account received it."""
    remote = await follows.resolve_target(node.ctx, account.id)
    async with node.ctx.sessions() as session, session.begin():
        await follows.follow(node.ctx, session, remote)
    node.ctx.wake()
    received = await account.server.wait_for(
        lambda r: r.activity["type"] == "Follow" and r.activity["object"] == account.id
    )
    return received.activity


async def accept(node: Node, account: Account, follow: dict[str, Any]) -> None:
    accept_activity = {
        "@context": AS2_CONTEXT,
        "id": account.new_id("accepts"),
        "type": "Accept",
        "actor": account.id,
        "object": follow,
    }
    answer = await account.post(f"{node.actor_id}/inbox", accept_activity)
    assert answer.status_code == 202, answer.text


def event_of(account: Account, title: str, *, days: int = 7) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {
        "@context": AS2_CONTEXT,
        "id": account.new_id("events"),
        "type": "Event",
        "name": title,
        "attributedTo": account.id,
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(hours=2)).isoformat(),
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


async def post_create(node: Node, account: Account, obj: dict[str, Any]) -> None:
    """Deliver a Create of ``obj`` (embedded) to the node's inbox."""
    body = {key: value for key, value in obj.items() if key != "@context"}
    create = {
        "@context": AS2_CONTEXT,
        "id": account.new_id("creates"),
        "type": "Create",
        "actor": account.id,
        "object": body,
        "to": body.get("to", []),
    }
    answer = await account.post(f"{node.actor_id}/inbox", create)
    assert answer.status_code == 202, answer.text


def as_node_cli(monkeypatch: Any, node: Node) -> None:
    """Point ``node.cli.main`` at ``node``'s configuration (run it in a thread:
    it starts its own event loop)."""
    settings = node.settings
    for name, value in {
        "TOCSIN_BASE_URL": settings.base_url,
        "TOCSIN_LISTEN": f"{settings.listen_host}:{settings.listen_port}",
        "TOCSIN_DATA_DIR": str(settings.data_dir),
        "TOCSIN_DATABASE_URL": settings.database_url,
        "TOCSIN_NODE_NAME": settings.node_name,
        "TOCSIN_SECRET_KEY": settings.secret_key,
        "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
    }.items():
        monkeypatch.setenv(name, value)
