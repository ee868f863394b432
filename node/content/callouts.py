"""The network's own callouts: urgent calls for people or help.

A callout federates as a ``Question`` (a poll Mastodon shows with vote
buttons). Votes come back as ``Create{Note}`` replies; each account counts
once, and the totals go out as an ``Update`` — coalesced, so a burst of votes
yields a few Updates, never one per vote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from federation.hosts import url_authority
from node.ap.callouts import callout_to_as
from node.ap.events import tombstone_to_as
from node.content import validation as v
from node.content.events import set_fields
from node.content.models import Callout, CalloutResponse, Tombstone
from node.content.publish import publish
from node.db import dialect_insert
from node.identity import group_actor
from node.models import RemoteActor
from node.web.context import NodeContext

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
        tally_dirty=False,
        **values,
    )
    session.add(callout)
    await session.flush()
    callout.uri = callout.url = f"{node.urls.base}/callouts/{callout.id}"
    await publish(node, session, "Create", callout_to_as(callout, node.urls, actor_id, now=now))
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


async def _take_tally(session: AsyncSession, callout: Callout, now: datetime) -> None:
    """Clear the "totals changed" flag and read the totals in one statement.

    A vote committed after this sets the flag again, so its total goes out in a
    later Update; reading the counts separately could publish stale totals and
    clear the flag of a vote that was never published.
    """
    counts = (
        await session.execute(
            update(Callout)
            .where(Callout.id == callout.id)
            .values(tally_dirty=False, tally_published_at=now)
            .returning(Callout.come_count, Callout.help_count)
            .execution_options(synchronize_session=False)
        )
    ).one()
    for name, value in (
        ("come_count", counts.come_count),
        ("help_count", counts.help_count),
        ("tally_dirty", False),
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
    if inserted is None:
        return False
    column = Callout.come_count if option == "come" else Callout.help_count
    await session.execute(
        update(Callout)
        .where(Callout.id == callout.id)
        .values({column: column + 1, Callout.tally_dirty: True})
        .execution_options(synchronize_session=False)
    )
    return True


async def _voters(session: AsyncSession, callout: Callout) -> list[RemoteActor]:
    """Accounts that answered, so their poll shows the new totals too."""
    rows = await session.scalars(
        select(RemoteActor)
        .join(CalloutResponse, CalloutResponse.actor_uri == RemoteActor.uri)
        .where(CalloutResponse.callout_id == callout.id)
    )
    return list(rows.all())


async def publish_due_tallies(node: NodeContext, now: datetime) -> int:
    """Send one Update per callout whose totals changed and whose last Update is
    older than ``TALLY_INTERVAL``; returns how many were sent."""
    async with node.sessions() as session, session.begin():
        due = await session.scalars(
            select(Callout)
            .where(
                Callout.local.is_(True),
                Callout.tally_dirty.is_(True),
                (Callout.tally_published_at.is_(None))
                | (Callout.tally_published_at <= now - TALLY_INTERVAL),
            )
            .with_for_update(skip_locked=True)
        )
        callouts = list(due.all())
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
