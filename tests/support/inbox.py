"""Helpers of the inbox tests (tests/e2e/test_inbox_*.py): signing any request
with ``httpsig``, posting raw bytes, and counting what a node kept.

Every request goes over real HTTP to a real node, signed (or mis-signed) by a
fediverse stand-in with ``httpsig``, an implementation we did not write.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpsig  # type: ignore[import-untyped]
import httpx
from sqlalchemy import func, select
from starlette.responses import JSONResponse, Response

from node import follows
from node.blocks import block_domain
from node.models import (
    Follower,
    Following,
    InboundActivity,
    OutboundActivity,
    RemoteActor,
    RemoteKey,
)
from tests.support.clients import loopback_client
from tests.support.fediverse import AS2, Account, FakeServer, private_pem
from tests.support.nodes import Node

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
MIB = 1_048_576
SETTLE = 0.5  # seconds to let a wrongly accepted activity show an effect
TABLES: dict[str, type[Any]] = {
    "inbound": InboundActivity,
    "followers": Follower,
    "following": Following,
    "remote_actors": RemoteActor,
    "remote_keys": RemoteKey,
    "outbound": OutboundActivity,
}
NOTHING = dict.fromkeys(TABLES, 0)
SIGNER_CACHED = {**NOTHING, "remote_actors": 1, "remote_keys": 1}  # the key lookup's cache


async def traces(node: Node) -> dict[str, int]:
    """How many rows each federation table holds."""
    async with node.ctx.sessions() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in TABLES.items()
        }


async def remote_actor_uris(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        return sorted((await session.scalars(select(RemoteActor.uri))).all())


async def settled_state(node: Node, activity_id: str) -> str:
    """Wait until the recorded activity has been processed; return its state."""
    state = ""

    async def processed() -> bool:
        nonlocal state
        async with node.ctx.sessions() as session:
            found = await session.scalar(
                select(InboundActivity.state).where(InboundActivity.uri == activity_id)
            )
        state = found or ""
        return state not in ("", "pending")

    async with asyncio.timeout(5):
        while not await processed():
            await asyncio.sleep(0.05)
    return state


def refusal(response: httpx.Response, status: int) -> str:
    """Assert a refusal with ``status`` and a short JSON ``error``; return the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert isinstance(message, str) and 0 < len(message) <= 120
    return message


def sign(
    account: Account,
    url: str,
    body: bytes,
    *,
    content_type: str = AS2,
    date: str | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    """Headers of a POST validly signed by ``httpsig`` with any Content-Type and Date."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": date or formatdate(usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": content_type,
    }
    signer = httpsig.HeaderSigner(
        key_id or account.key_id,
        private_pem(account.key),
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest", "content-type"],
        sign_header="signature",
    )
    return dict(signer.sign(headers, method="POST", path=parts.path))


async def post_raw(url: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    async with loopback_client() as client:
        return await client.post(url, content=content, headers=headers)


def http_date(offset_seconds: float) -> str:
    return formatdate(time.time() + offset_seconds, usegmt=True)


def activity(account: Account, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": account.new_id(),
        "type": kind,
        "actor": account.id,
        "object": obj,
        **extra,
    }


def inbox(node: Node) -> str:
    return f"{node.actor_id}/inbox"


async def become_follower(node: Node, fediverse: FakeServer, account: Account) -> None:
    assert (await account.post(inbox(node), account.follow(node.actor_id))).status_code == 202
    await fediverse.wait_for(
        lambda r: r.activity["type"] == "Accept" and r.activity["object"]["actor"] == account.id
    )


async def pending_follow_of(node: Node, account: Account) -> str:
    """Make the node follow ``account`` for real (as ``tocsin follow`` does); the Follow id."""
    remote = await follows.resolve_target(node.ctx, account.id)
    async with node.ctx.sessions() as session, session.begin():
        row = await follows.follow(node.ctx, session, remote)
        follow_id = row.follow_uri
    node.ctx.wake()
    return follow_id


async def following_states(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(Following.state))).all())


async def block(node: Node, domain: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await block_domain(session, domain)
    node.ctx.blocks.invalidate()


def count_fetches(server: FakeServer, account: Account) -> list[str]:
    """Serve ``account``'s actor document as usual, noting each fetch."""
    fetches: list[str] = []
    path = urlsplit(account.id).path

    def serve() -> Response:
        fetches.append(path)
        return JSONResponse(account.document(), media_type=AS2)

    server.override[path] = serve
    return fetches
