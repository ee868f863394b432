"""The federation's calendar: upcoming events and open callouts, this node's and
those of the nodes it follows, in one time-ordered, indexed query each.

Upcoming events are those not yet ended, in order of start. ``ends_at >= now``
alone would make the start index walk every past event first (the history
grows forever), so the scan also starts at ``now - longest event``: an event
that has not ended cannot have begun before that (the triggers of migration
0005 keep the longest duration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.content.changes import longest_event
from node.content.models import Callout, Event
from node.handles import handle_of, label_of
from node.identity import chosen_name, group_actor
from node.models import RemoteActor

URGENCY_RANK = {"urgent": 0, "soon": 1, "ongoing": 2}
# people are still needed first; enough next; ended ones (all clear, false alarm,
# cancelled) last: none of those sorts as urgent, whatever its urgency
STATUS_RANK = {"open": 0, "unverified": 0, "enough": 1}
TAKING_PEOPLE = ("unverified", "open", "enough")


@dataclass(frozen=True)
class Origin:
    """Who published an entry, for "from Hackney Renters" labels and links."""

    name: str
    handle: str
    url: str
    local: bool


@dataclass(frozen=True)
class Entry:
    item: Event | Callout
    origin: Origin
    relayed_by: Origin | None = None


def _has_tag(session: AsyncSession, tag: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        contains: ColumnElement[bool] = Event.tags.op("@>")(func.jsonb_build_array(tag))
        return contains
    each = func.json_each(Event.tags).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))


def _earliest_start(now: datetime, longest: timedelta | None) -> datetime | None:
    if longest is None:
        return None
    try:
        return now - longest
    except OverflowError:  # an event said to last for millennia: no bound
        return None


async def upcoming_events(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int = 200,
    origin_domain: str | None = None,
    tag: str | None = None,
    local_only: bool = False,
    longest: timedelta | None = None,
) -> list[Event]:
    """Events that end at ``now`` or later, by start; ``longest`` as read before (or now)."""
    if longest is None:
        longest = await longest_event(session)
    query = select(Event).where(Event.ends_at >= now)
    earliest = _earliest_start(now, longest)
    if earliest is not None:
        query = query.where(Event.starts_at >= earliest)
    if origin_domain:
        query = query.where(Event.origin_domain == origin_domain)
    if local_only:
        query = query.where(Event.local.is_(True))
    if tag:
        query = query.where(_has_tag(session, tag.lower().lstrip("#")))
    rows = await session.scalars(query.order_by(Event.starts_at, Event.id).limit(limit))
    return list(rows.all())


async def open_callouts(
    session: AsyncSession,
    now: datetime,
    *,
    limit: int = 100,
    local_only: bool = False,
    include_ended: bool = False,
) -> list[Callout]:
    """Not expired and still taking answers (being checked, open, or enough), or with
    ``include_ended`` also those ended before their time (so that "all clear" and
    "false alarm" stay visible until then); people needed first, then enough, then
    ended, each most urgent first, then soonest to end."""
    state = case(STATUS_RANK, value=Callout.status, else_=2)
    rank = case(URGENCY_RANK, value=Callout.urgency, else_=3)
    query = select(Callout).where(Callout.ends_at > now)
    if not include_ended:
        query = query.where(Callout.status.in_(TAKING_PEOPLE))
    if local_only:
        query = query.where(Callout.local.is_(True))
    order = (state, rank, Callout.ends_at, Callout.id)
    rows = await session.scalars(query.order_by(*order).limit(limit))
    return list(rows.all())


async def origins(session: AsyncSession, items: list[Event | Callout], host: str) -> list[Entry]:
    """Attach to each item who published it (and who relayed it to us)."""
    uris = {i.actor_uri for i in items} | {i.relayed_by for i in items if i.relayed_by}
    actors = {
        actor.uri: actor
        for actor in (await session.scalars(select(RemoteActor).where(RemoteActor.uri.in_(uris))))
    }
    local = await group_actor(session)
    handle = f"@{local.username}@{host}"
    here = Origin(chosen_name(local) or handle, handle, "/", True)

    def origin_of(uri: str) -> Origin:
        actor = actors.get(uri)
        if actor is None:
            return Origin(uri, uri, uri, False)
        return Origin(
            label_of(actor),
            handle_of(actor),
            actor.url or actor.uri,
            False,
        )

    return [
        Entry(
            item,
            here if item.local else origin_of(item.actor_uri),
            origin_of(item.relayed_by) if item.relayed_by else None,
        )
        for item in items
    ]
