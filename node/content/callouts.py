"""The network's own callouts: urgent calls for people or help.

A callout federates as a ``Question`` (a poll Mastodon shows with vote
buttons). Votes come back as ``Create{Note}`` replies; each account counts
once, and the totals go out as an ``Update`` — coalesced, so a burst of votes
yields a few Updates, never one per vote.

A vote only inserts its response row: the callout's ``come_count`` and
``help_count`` are the totals last published, and the tally job compares them
with a count of the responses. No vote writes the callout row, so a storm of
votes never queues on one hot row, and the tally job always finds it free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from federation.hosts import url_authority
from node.alerts.queue import queue_callout_alerts
from node.ap.callouts import callout_to_as
from node.ap.events import tombstone_to_as
from node.content import validation as v
from node.content.events import set_fields
from node.content.models import Callout, CalloutResponse, Tombstone
from node.content.publish import publish
from node.context import NodeContext
from node.db import dialect_insert
from node.identity import group_actor
from node.models import RemoteActor

TALLY_INTERVAL = timedelta(seconds=5)  # at most one tally Update per callout this often


@dataclass
class CalloutForm:
    title: str | None = None
    needed: str | None = None
    people: str | None = None
    start: str | None = None
    until: str | None = None
    timezone: str | None = None
    urgency: str | None = None
    contact: str | None = None
    location: str | None = None
    address: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    online_url: str | None = None

    def merged_into(self, base: CalloutForm) -> CalloutForm:
        return CalloutForm(**{**asdict(base), **set_fields(self)})


def callout_values(form: CalloutForm, default_timezone: str, now: datetime) -> dict[str, Any]:
    title = v.text(form.title, "title", limit=v.MAX_TITLE, required=True)
    needed = v.text(form.needed, "needed", limit=v.MAX_TEXT, required=True)
    tz_name = (form.timezone or default_timezone).strip()
    tz = v.zone(tz_name)
    starts_at = v.moment(form.start, "start", tz) if (form.start or "").strip() else now
    ends_at = v.moment(form.until, "until", tz)
    if ends_at <= starts_at:
        raise v.ContentError("until", "must be after the start")
    return {
        "title": title,
        "needed": needed,
        "people_needed": v.count(form.people, "people"),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tz_name,
        "urgency": v.urgency(form.urgency),
        "contact": v.text(form.contact, "contact", limit=v.MAX_ADDRESS),
        "location_name": v.text(form.location, "location", limit=v.MAX_LINE),
        "location_address": v.text(form.address, "address", limit=v.MAX_ADDRESS),
        "latitude": v.coordinate(form.latitude, "latitude", 90),
        "longitude": v.coordinate(form.longitude, "longitude", 180),
        "online_url": v.web_url(form.online_url, "online_url"),
    }


def form_of(callout: Callout) -> CalloutForm:
    tz = v.zone(callout.timezone)
    fmt = "%Y-%m-%d %H:%M"
    return CalloutForm(
        title=callout.title,
        needed=callout.needed,
        people="" if callout.people_needed is None else str(callout.people_needed),
        start=callout.starts_at.astimezone(tz).strftime(fmt),
        until=callout.ends_at.astimezone(tz).strftime(fmt),
        timezone=callout.timezone,
        urgency=callout.urgency,
        contact=callout.contact,
        location=callout.location_name,
        address=callout.location_address,
        latitude=None if callout.latitude is None else str(callout.latitude),
        longitude=None if callout.longitude is None else str(callout.longitude),
        online_url=callout.online_url or "",
    )


async def _actor_id(node: NodeContext, session: AsyncSession) -> str:
    return node.urls.actor((await group_actor(session)).username)


async def create_callout(node: NodeContext, session: AsyncSession, form: CalloutForm) -> Callout:
    now = datetime.now(UTC)
    values = callout_values(form, node.settings.timezone, now)
    if values["ends_at"] <= now:
        raise v.ContentError("until", "is already past")
    actor_id = await _actor_id(node, session)
    callout = Callout(
        uri="",
        url="",
        local=True,
        actor_uri=actor_id,
        origin_domain=url_authority(node.urls.base),
        status="open",
        content_html="",
        come_count=0,
        help_count=0,
        **values,
    )
    session.add(callout)
    await session.flush()
    callout.uri = callout.url = f"{node.urls.base}/callouts/{callout.id}"
    await publish(node, session, "Create", callout_to_as(callout, node.urls, actor_id, now=now))
    await queue_callout_alerts(node, session, callout, "published")
    return callout


async def update_callout(
    node: NodeContext, session: AsyncSession, callout: Callout, changes: CalloutForm
) -> Callout:
    now = datetime.now(UTC)
    values = callout_values(changes.merged_into(form_of(callout)), node.settings.timezone, now)
    for name, value in values.items():
        setattr(callout, name, value)
    return await publish_callout_update(node, session, callout)


async def set_status(
    node: NodeContext, session: AsyncSession, callout: Callout, status: str
) -> Callout:
    """``met`` (the call was answered) or ``cancelled``; either closes the poll."""
    if callout.status != "open":
        raise v.ContentError("status", f"this callout is already {callout.status}")
    callout.status = status
    await queue_callout_alerts(node, session, callout, status)
    return await publish_callout_update(node, session, callout)


async def publish_callout_update(
    node: NodeContext, session: AsyncSession, callout: Callout
) -> Callout:
    now = datetime.now(UTC)
    callout.updated_at = now
    await session.flush()
    await _take_tally(session, callout, now)
    actor_id = await _actor_id(node, session)
    voters = await _voters(session, callout)
    await publish(
        node,
        session,
        "Update",
        callout_to_as(callout, node.urls, actor_id, now=now),
        extra_recipients=voters,
    )
    return callout


def _count(option: str) -> Any:
    return (
        select(func.count())
        .where(CalloutResponse.callout_id == Callout.id, CalloutResponse.option == option)
        .scalar_subquery()
    )


async def _take_tally(session: AsyncSession, callout: Callout, now: datetime) -> None:
    """Count the responses and store the totals being published, in one statement.

    One statement reads one snapshot: a vote committed after it is not in these
    totals, so the counts differ again and a later Update carries it.
    """
    counts = (
        await session.execute(
            update(Callout)
            .where(Callout.id == callout.id)
            .values(come_count=_count("come"), help_count=_count("help"), tally_published_at=now)
            .returning(Callout.come_count, Callout.help_count)
            .execution_options(synchronize_session=False)
        )
    ).one()
    for name, value in (
        ("come_count", counts.come_count),
        ("help_count", counts.help_count),
        ("tally_published_at", now),
    ):
        set_committed_value(callout, name, value)


async def delete_callout(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    now = datetime.now(UTC)
    session.add(Tombstone(uri=callout.uri, former_type="Question", deleted_at=now))
    await session.delete(callout)
    await publish(node, session, "Delete", tombstone_to_as(callout.uri, "Question", now))


# -- responses -------------------------------------------------------------------------


async def record_response(
    session: AsyncSession, callout: Callout, actor_uri: str, option: str, activity_uri: str
) -> bool:
    """Count ``actor_uri``'s answer once; False if that account had answered already."""
    inserted = await session.scalar(
        dialect_insert(session)(CalloutResponse)
        .values(
            callout_id=callout.id,
            actor_uri=actor_uri,
            option=option,
            activity_uri=activity_uri,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["callout_id", "actor_uri"])
        .returning(CalloutResponse.id)
    )
    return inserted is not None


async def _voters(session: AsyncSession, callout: Callout) -> list[RemoteActor]:
    """Accounts that answered, so their poll shows the new totals too."""
    rows = await session.scalars(
        select(RemoteActor)
        .join(CalloutResponse, CalloutResponse.actor_uri == RemoteActor.uri)
        .where(CalloutResponse.callout_id == callout.id)
    )
    return list(rows.all())


async def publish_due_tallies(node: NodeContext, now: datetime) -> int:
    """Send one Update per open callout whose responses no longer match its
    published totals and whose last Update is older than ``TALLY_INTERVAL``;
    returns how many were sent."""
    counted = (
        select(
            CalloutResponse.callout_id,
            func.sum(case((CalloutResponse.option == "come", 1), else_=0)).label("come"),
            func.sum(case((CalloutResponse.option == "help", 1), else_=0)).label("help"),
        )
        .group_by(CalloutResponse.callout_id)
        .subquery()
    )
    changed = (
        select(Callout.id)
        .join(counted, counted.c.callout_id == Callout.id)
        .where(
            Callout.local.is_(True),
            Callout.status == "open",
            (counted.c.come != Callout.come_count) | (counted.c.help != Callout.help_count),
            (Callout.tally_published_at.is_(None))
            | (Callout.tally_published_at <= now - TALLY_INTERVAL),
        )
    )
    async with node.sessions() as session, session.begin():
        due = list((await session.scalars(changed)).all())
        if not due:
            return 0
        # FOR NO KEY UPDATE: votes' foreign-key checks (KEY SHARE) go on meanwhile
        locked = await session.scalars(
            select(Callout)
            .where(Callout.id.in_(due))
            .with_for_update(skip_locked=True, key_share=True)
        )
        callouts = list(locked.all())
        for callout in callouts:
            await publish_callout_update(node, session, callout)
    if callouts:
        node.wake()
    return len(callouts)


async def responses(session: AsyncSession, callout: Callout) -> list[CalloutResponse]:
    rows = await session.scalars(
        select(CalloutResponse)
        .where(CalloutResponse.callout_id == callout.id)
        .order_by(CalloutResponse.id)
    )
    return list(rows.all())


async def response_counts(session: AsyncSession, callout: Callout) -> dict[str, int]:
    rows = await session.execute(
        select(CalloutResponse.option, func.count())
        .where(CalloutResponse.callout_id == callout.id)
        .group_by(CalloutResponse.option)
    )
    return {option: int(n) for option, n in rows.all()}
