"""Driving the admin UI over HTTP in tests: fetch a form, keep its CSRF token, post it;
log in as a new user; the event and callout forms as typed; and the reads the admin
page tests check afterwards (outbound activities, audit entries, form fields)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
from sqlalchemy import select

from node.identity import group_actor
from node.models import AuditEntry, Follower, OutboundActivity, RemoteActor
from node.users import create_user
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str | None = None, **fields: str
) -> httpx.Response:
    """GET ``page`` for its token, then POST ``fields`` to ``action`` (default: the page)."""
    form_page = await client.get(page)
    return await client.post(action or page, data={"csrf_token": csrf_of(form_page.text), **fields})


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await post_form(client, "/admin/login", username=username, password=password)


# -- the event and callout pages -------------------------------------------------------

PASSWORD = "editor password 1"
FUTURE = (datetime.now(UTC) + timedelta(days=30)).date()
DAY = FUTURE.isoformat()
EVENT_FORM = {
    "title": "Tenants' assembly",
    "start": f"{DAY}T19:00",
    "end": f"{DAY}T21:00",
    "timezone": "Europe/London",
    "location": "Town Hall",
    "address": "1 High St",
    "latitude": "51.5",
    "longitude": "-0.1",
    "online_url": "https://meet.example/assembly",
    "tags": "housing, #Meeting",
    "description": "Bring *everyone*.",
}
CALLOUT_FORM = {
    "title": "Eviction at 7am",
    "needed": "People at the door",
    "people": "20",
    "until": f"{DAY}T09:00",
    "urgency": "urgent",
    "location": "12 Elm Road",
    "address": "",
    "contact": "Signal 07700 900000",
    "start": "",
    "timezone": "Europe/London",
    "latitude": "",
    "longitude": "",
    "online_url": "",
}


@asynccontextmanager
async def logged_in(node: Node, username: str, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh browser, logged in as a new user with ``role``."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False, hasher=CHEAP_HASHER)
    async with httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url) as c:
        assert (await login(c, username, PASSWORD)).status_code == 303
        yield c


async def one(node: Node, query: Any) -> Any:
    async with node.ctx.sessions() as session:
        return await session.scalar(query)


async def all_of(node: Node, query: Any) -> list[Any]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(query)).all())


async def outbound(node: Node) -> list[tuple[str, str | None]]:
    """The queued activities, oldest first, as (type, object id)."""
    rows = await all_of(node, select(OutboundActivity).order_by(OutboundActivity.id))
    return [(row.type, row.object_uri) for row in rows]


async def audit_log(node: Node) -> list[tuple[str, str, str]]:
    """The audit entries but logins, oldest first, as (username, action, target)."""
    rows = await all_of(node, select(AuditEntry).order_by(AuditEntry.id))
    return [(e.username, e.action, e.target) for e in rows if e.action != "login"]


async def add_follower(node: Node) -> None:
    """An accepted follower of the node, @ann@social.example, with a shared inbox."""
    async with node.ctx.sessions() as session, session.begin():
        remote = RemoteActor(
            uri="https://social.example/users/ann",
            domain="social.example",
            type="Person",
            preferred_username="ann",
            name="Ann",
            inbox="https://social.example/users/ann/inbox",
            shared_inbox="https://social.example/inbox",
            raw={},
        )
        session.add(remote)
        await session.flush()
        session.add(
            Follower(
                local_actor_id=(await group_actor(session)).id,
                remote_actor_id=remote.id,
                follow_uri="https://social.example/follows/1",
                follow_activity={},
                state="accepted",
            )
        )


def field_error(html: str, field: str) -> str:
    """The message shown beside ``field``, checking the input points at it."""
    tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{field}"[^>]*>', html)
    assert tag, f"no input {field}"
    assert 'aria-invalid="true"' in tag.group(0)
    assert f"{field}-error" in tag.group(0)
    message = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert message, f"no message beside {field}"
    return unescape(message.group(1))


def input_value(html: str, field: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html)
    assert tag
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return unescape(value.group(1)) if value else ""
