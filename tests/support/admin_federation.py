"""Helpers of the admin federation tests (tests/node/web/admin/*) and of the
people and allow-list tests: a logged-in browser, cached remote actors in any
follow state, and what a node sent, audited or queued."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from node.identity import group_actor
from node.models import (
    AuditEntry,
    Delivery,
    Follower,
    Following,
    OutboundActivity,
    RemoteActor,
)
from node.settings_store import get_setting
from node.users import create_user
from tests.support.admin import login, post_form
from tests.support.clients import loopback_client
from tests.support.fediverse import Account
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "a long admin passphrase"
FEDERATION_POSTS = [
    "/admin/federation/follow",
    "/admin/federation/follow/confirm",
    "/admin/federation/following/1/unfollow",
    "/admin/federation/followers/1/approve",
    "/admin/federation/blocks/add",
    "/admin/federation/blocks/remove",
    "/admin/federation/allowlist/mode",
    "/admin/federation/allowlist/add",
    "/admin/federation/allowlist/remove",
    "/admin/federation/following/1/relay",
    "/admin/federation/relay-default",
]
FEDERATION_PAGES = [
    "/admin/federation",
    "/admin/federation/followers",
    "/admin/federation/blocks",
    "/admin/federation/nearby",
]

# -- helpers (the people tests use them too) ----------------------------------------------


@asynccontextmanager
async def logged_in(
    node: Node, username: str = "ada", role: str = "admin"
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to ``node`` as a new user with ``role``."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False, hasher=CHEAP_HASHER)
    in_process = isinstance(node.client._transport, httpx.ASGITransport)
    transport = node.client._transport if in_process else None
    async with loopback_client(transport=transport, base_url=node.base_url) as client:
        assert (await login(client, username, PASSWORD)).status_code == 303
        yield client


async def count(node: Node, model: Any, *where: Any) -> int:
    async with node.ctx.sessions() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(query) or 0)


async def audit_actions(node: Node) -> list[tuple[str, str]]:
    async with node.ctx.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)
        )
        return [(action, target) for action, target in rows.all() if action != "login"]


async def add_remote(
    node: Node,
    domain: str,
    name: str = "someone",
    *,
    follower: str | None = None,
    following: str | None = None,
) -> RemoteActor:
    """A cached remote actor, following us and/or followed in the given states."""
    uri = f"https://{domain}/users/{name}"
    async with node.ctx.sessions() as session, session.begin():
        local = await group_actor(session)
        remote = RemoteActor(
            uri=uri,
            domain=domain,
            type="Person",
            preferred_username=name,
            name=name.title(),
            summary="",
            inbox=f"{uri}/inbox",
            shared_inbox=None,
            raw={"id": uri},
        )
        session.add(remote)
        await session.flush()
        if follower:
            follow = {"id": f"{uri}/follows/1", "type": "Follow", "actor": uri}
            session.add(
                Follower(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=follow["id"],
                    follow_activity={**follow, "object": node.actor_id},
                    state=follower,
                )
            )
        if following:
            session.add(
                Following(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=f"{node.base_url}/activities/{uuid.uuid4().hex}",
                    state=following,
                )
            )
    return remote


async def row_id(node: Node, model: Any, remote: RemoteActor) -> int:
    async with node.ctx.sessions() as session:
        found = await session.scalar(select(model.id).where(model.remote_actor_id == remote.id))
        assert found is not None
        return int(found)


async def sent(node: Node, kind: str) -> list[dict[str, Any]]:
    async with node.ctx.sessions() as session:
        bodies = await session.scalars(
            select(OutboundActivity.body)
            .where(OutboundActivity.type == kind)
            .order_by(OutboundActivity.id)
        )
        return [json.loads(body) for body in bodies.all()]


async def deliver(node: Node, account: Account, activity: dict[str, Any]) -> httpx.Response:
    """POST ``activity`` to the in-process node's inbox, signed by ``account``, and
    wait until the node has processed it."""
    url = f"{node.actor_id}/inbox"
    body = json.dumps(activity).encode()
    response = await node.client.post(url, content=body, headers=account.signed_headers(url, body))
    await node.ctx.inbound.wait_idle()
    return response


def handle_of(node: Node) -> str:
    return f"@{node.settings.node_name}@{node.settings.host}"


async def get_setting_value(node: Node, key: str) -> Any:
    async with node.ctx.sessions() as session:
        return await get_setting(session, key)


async def add_following_row(node: Node, remote: RemoteActor, state: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        local = await group_actor(session)
        session.add(
            Following(
                local_actor_id=local.id,
                remote_actor_id=remote.id,
                follow_uri=f"{node.base_url}/activities/{uuid.uuid4().hex}",
                state=state,
            )
        )


async def save_profile(client: httpx.AsyncClient, **fields: str) -> None:
    response = await post_form(client, "/admin/profile", **{"display_name": "Net", **fields})
    assert response.status_code == 303, response.text


async def delivery_domains(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        rows = await session.scalars(select(Delivery.domain).order_by(Delivery.domain))
        return list(rows.all())
