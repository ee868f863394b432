"""The admin dashboard: follower and following counts, follow requests, the
delivery queue, unreachable servers and the latest activities, for admins and
editors alike."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from node.identity import group_actor
from node.models import (
    Delivery,
    DomainHealth,
    Follower,
    Following,
    InboundActivity,
    OutboundActivity,
    RemoteActor,
)
from node.users import create_user
from tests.support.admin import login
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

PASSWORD = "dashboard password"


@asynccontextmanager
async def _client(node: Node, username: str, role: str) -> AsyncIterator[httpx.AsyncClient]:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False, hasher=CHEAP_HASHER)
    async with httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url) as c:
        assert (await login(c, username, PASSWORD)).status_code == 303
        yield c


def _remote(n: int, domain: str = "social.example") -> RemoteActor:
    uri = f"https://{domain}/users/u{n}"
    return RemoteActor(
        uri=uri,
        domain=domain,
        type="Person",
        preferred_username=f"u{n}",
        inbox=f"{uri}/inbox",
        raw={},
    )


async def _federation(session: AsyncSession) -> None:
    """Two accepted followers and one request; one node followed, one pending."""
    group = await group_actor(session)
    actors = [_remote(n) for n in range(5)]
    session.add_all(actors)
    await session.flush()
    follower_states = ["accepted", "accepted", "pending"]
    for n, (actor, state) in enumerate(zip(actors[:3], follower_states, strict=True)):
        session.add(
            Follower(
                local_actor_id=group.id,
                remote_actor_id=actor.id,
                follow_uri=f"https://social.example/follows/{n}",
                follow_activity={},
                state=state,
            )
        )
    for n, (actor, state) in enumerate(zip(actors[3:], ["accepted", "pending"], strict=True)):
        session.add(
            Following(
                local_actor_id=group.id,
                remote_actor_id=actor.id,
                follow_uri=f"http://127.0.0.1:8000/follows/{n}",
                state=state,
            )
        )


async def _deliveries(session: AsyncSession) -> None:
    """Three queued (two failing, on two servers), one given up, one done."""
    group = await group_actor(session)
    activity = OutboundActivity(
        uri="http://127.0.0.1:8000/activities/a1",
        local_actor_id=group.id,
        type="Create",
        object_uri="http://127.0.0.1:8000/events/1",
        public=True,
        body="{}",
    )
    session.add(activity)
    await session.flush()
    for n, (domain, state, attempts) in enumerate(
        [
            ("a.example", "pending", 0),
            ("b.example", "pending", 3),
            ("gone.example", "pending", 9),
            ("c.example", "gave_up", 16),
            ("d.example", "done", 1),
        ]
    ):
        session.add(
            Delivery(
                activity_id=activity.id,
                inbox_url=f"https://{domain}/inbox/{n}",
                domain=domain,
                state=state,
                attempts=attempts,
            )
        )
    session.add(
        DomainHealth(
            domain="gone.example",
            failure_days=["2026-01-01", "2026-01-02", "2026-01-03"],
            unreachable_since=datetime(2026, 1, 3, 12, 0, tzinfo=UTC),
        )
    )
    session.add(DomainHealth(domain="b.example", failure_days=["2026-01-03"]))
    session.add(
        InboundActivity(
            uri="https://social.example/activities/f1",
            type="Follow",
            actor_uri="https://social.example/users/u2",
            payload={},
            state="done",
        )
    )


def _count(html: str, label: str) -> str:
    match = re.search(rf"<dt>{label}</dt><dd>(.*?)</dd>", html)
    assert match, f"no count for {label}"
    return re.sub(r"<[^>]+>", "", match.group(1))


async def test_dashboard_shows_follows_deliveries_and_latest_activity(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await _federation(session)
        await _deliveries(session)
    async with _client(node, "ada", "admin") as admin:
        page = await admin.get("/admin")
    assert page.status_code == 200
    html = page.text
    assert _count(html, "Followers") == "2"
    assert _count(html, "Follow requests waiting") == "1"
    assert _count(html, "Following").startswith("1 (+1 not yet accepted)")
    assert _count(html, "Queued") == "3"
    assert _count(html, "Failing, being retried") == "2"
    assert _count(html, "Given up") == "1"
    assert '<a href="/admin/federation">review them</a>' in html
    assert "<li>b.example: 1 waiting to retry</li>" in html
    assert "<li>gone.example, since 2026-01-03 12:00</li>" in html  # node zone is UTC
    assert "b.example, since" not in html  # failing but not (yet) unreachable
    sent = html.split("<h3>Sent</h3>")[1].split("<h3>Received</h3>")[0]
    assert "Create" in sent and "http://127.0.0.1:8000/events/1" in sent
    received = html.split("<h3>Received</h3>")[1]
    assert "Follow" in received and "https://social.example/users/u2" in received


async def test_editors_see_the_dashboard_without_the_admin_only_link(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await _federation(session)
    async with _client(node, "rosa", "editor") as editor:
        page = await editor.get("/admin")
    assert page.status_code == 200
    assert _count(page.text, "Follow requests waiting") == "1"
    assert 'href="/admin/federation"' not in page.text
    assert "an admin approves them" in page.text


async def test_an_empty_node_has_a_calm_dashboard(node: Node) -> None:
    async with _client(node, "ada", "admin") as admin:
        html = (await admin.get("/admin")).text
    assert _count(html, "Followers") == "0" and _count(html, "Queued") == "0"
    assert "None: every server answered recently." in html
    assert "Nothing sent yet." in html and "Nothing received yet." in html
    assert 'href="/admin/callouts/new"' in html and 'href="/admin/events/new"' in html


async def test_dashboard_needs_a_login(node: Node) -> None:
    response = await node.client.get("/admin")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")
