"""The admin dashboard: the first steps of a new node, who follows, who is
followed, how deliveries are doing, and the latest activities in and out.
Read-only; editors see it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content.models import Event
from node.content.text import zone
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.identity import chosen_name, group_actor
from node.models import (
    Delivery,
    DomainHealth,
    Follower,
    Following,
    InboundActivity,
    OutboundActivity,
)
from node.web.admin.session import render, require
from node.web.context import ctx

LATEST = 10
NOTICES = {"password": lazy_gettext("Your password was changed.")}


@dataclass(frozen=True)
class Line:
    """One activity in the "latest" lists."""

    type: str
    what: str
    at: datetime
    local_time: str
    state: str = ""


async def _count(session: AsyncSession, model: Any, *where: ColumnElement[bool]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _counts(session: AsyncSession) -> dict[str, int]:
    group = await group_actor(session)
    pending = Delivery.state == "pending"
    return {
        "followers": await _count(
            session, Follower, Follower.local_actor_id == group.id, Follower.state == "accepted"
        ),
        "follow_requests": await _count(
            session, Follower, Follower.local_actor_id == group.id, Follower.state == "pending"
        ),
        "following": await _count(
            session, Following, Following.local_actor_id == group.id, Following.state == "accepted"
        ),
        "following_pending": await _count(
            session, Following, Following.local_actor_id == group.id, Following.state == "pending"
        ),
        "queued": await _count(session, Delivery, pending),
        "failing": await _count(session, Delivery, pending, Delivery.attempts > 0),
        "gave_up": await _count(session, Delivery, Delivery.state == "gave_up"),
    }


async def _failing_servers(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(Delivery.domain, func.count())
        .where(Delivery.state == "pending", Delivery.attempts > 0)
        .group_by(Delivery.domain)
        .order_by(func.count().desc(), Delivery.domain)
        .limit(LATEST)
    )
    return [(domain, int(n)) for domain, n in rows.all()]


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


async def _latest(session: AsyncSession, tz: str) -> tuple[list[Line], list[Line]]:
    outbound = await session.scalars(
        select(OutboundActivity).order_by(OutboundActivity.id.desc()).limit(LATEST)
    )
    inbound = await session.scalars(
        select(InboundActivity).order_by(InboundActivity.id.desc()).limit(LATEST)
    )
    sent = [
        Line(a.type, a.object_uri or a.uri, a.created_at, _local(a.created_at, tz))
        for a in outbound
    ]
    received = [
        Line(a.type, a.actor_uri, a.received_at, _local(a.received_at, tz), a.state)
        for a in inbound
    ]
    return sent, received


@dataclass(frozen=True)
class Step:
    """One item of a new node's checklist: ticked once done, linking to where to do it."""

    label: str
    href: str
    done: bool


async def first_steps(session: AsyncSession) -> list[Step]:
    """Name and describe the network, follow a first network, post a first event."""
    group = await group_actor(session)
    follows = await _count(session, Following, Following.local_actor_id == group.id)
    events = await _count(session, Event, Event.local.is_(True))
    return [
        Step(
            _("Set the network's name and description"),
            "/admin/profile",
            bool(chosen_name(group) and group.summary.strip()),
        ),
        Step(_("Follow a first network"), "/admin/federation", follows > 0),
        Step(_("Post a first event"), "/admin/events/new", events > 0),
    ]


@require("editor")
async def dashboard(request: Request) -> Response:
    tz = ctx(request).settings.timezone
    async with ctx(request).sessions() as session:
        counts = await _counts(session)
        unreachable = await session.scalars(
            select(DomainHealth)
            .where(DomainHealth.unreachable_since.is_not(None))
            .order_by(DomainHealth.unreachable_since, DomainHealth.domain)
        )
        sent, received = await _latest(session, tz)
        steps = await first_steps(session)
        context = {
            "network_name": chosen_name(await group_actor(session)),
            "steps": steps if not all(step.done for step in steps) else [],
            "counts": counts,
            "failing_servers": await _failing_servers(session),
            "unreachable": [
                (h.domain, _local(h.unreachable_since, tz))
                for h in unreachable
                if h.unreachable_since
            ],
            "notice": NOTICES.get(request.query_params.get("changed", "")),
            "timezone": tz,
            "sent": sent,
            "received": received,
        }
    return render(request, "admin/dashboard.html", context)


routes = [Route("/admin", dashboard)]
