"""The network's own callouts: urgent calls for people or help.

A callout federates as a ``Question`` (a poll Mastodon shows with vote
buttons). Votes come back as ``Create{Note}`` replies; each account counts
once, and the totals go out as an ``Update`` — coalesced, so a burst of votes
yields a few Updates, never one per vote.

A vote inserts its response row; the callout's ``come_count`` and
``help_count`` are the totals last published, and the tally job compares them
with a count of the responses. An "I can come" vote also takes the callout's
row lock for its transaction, because it decides who is confirmed and may
turn the callout to ``enough`` (``node.content.dispatch``); received votes
take it once per batch of activities, not once per vote.

Deleting a callout forgets everyone who answered it
(``node.content.callout_deletion``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.hosts import url_authority
from node.alerts.queue import queue_callout_alerts
from node.ap.callouts import callout_to_as
from node.ap.events import tombstone_to_as
from node.content import validation as v
from node.content.callout_deletion import delete_state_notes, forget_voters
from node.content.callout_publish import actor_id, publish_callout_update, response_count
from node.content.callout_states import after_dispatch_change, apply_action
from node.content.events import set_fields
from node.content.models import Callout, CalloutResponse, Tombstone
from node.content.publish import publish
from node.content.responders import purge_callout_responders
from node.context import NodeContext
from node.db import dialect_insert
from node.i18n import gettext as _

TALLY_INTERVAL = timedelta(seconds=5)  # at most one tally Update per callout this often
# ... and less often when many answered: every answer's server gets each Update,
# so a callout's Updates stay near TALLY_POSTS_PER_SECOND signed POSTs a second,
# and its published totals are never more than TALLY_INTERVAL_MAX behind
TALLY_POSTS_PER_SECOND = 100
TALLY_INTERVAL_MAX = timedelta(seconds=30)


def tally_interval(answers: int) -> timedelta:
    """How long after its last tally Update a callout with ``answers`` may have the next."""
    spread = timedelta(seconds=answers / TALLY_POSTS_PER_SECOND)
    return min(max(TALLY_INTERVAL, spread), TALLY_INTERVAL_MAX)


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
    area: str | None = None  # public: "Tottenham, N15"
    private_address: str | None = None  # only confirmed responders are told it

    def merged_into(self, base: CalloutForm) -> CalloutForm:
        return CalloutForm(**{**asdict(base), **set_fields(self)})


def callout_values(form: CalloutForm, default_timezone: str, now: datetime) -> dict[str, Any]:
    """Validated column values, or ``ContentErrors`` naming every bad field at once."""
    check = v.Checks()
    tz_name = (form.timezone or default_timezone).strip()
    title = check(v.text, form.title, "title", limit=v.MAX_TITLE, required=True)
    needed = check(v.text, form.needed, "needed", limit=v.MAX_TEXT, required=True)
    people = check(v.count, form.people, "people")
    starts_at, ends_at = _callout_times(form, tz_name, now, check)
    private = check(v.text, form.private_address, "private_address", limit=v.MAX_ADDRESS)
    if private:
        _no_public_place(form, check)
    values = {
        "title": title,
        "needed": needed,
        "people_needed": people,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tz_name,
        "urgency": check(v.urgency, form.urgency),
        "contact": check(v.text, form.contact, "contact", limit=v.MAX_ADDRESS),
        "location_name": check(v.text, form.location, "location", limit=v.MAX_LINE),
        "location_address": check(v.text, form.address, "address", limit=v.MAX_ADDRESS),
        "latitude": check(v.coordinate, form.latitude, "latitude", 90),
        "longitude": check(v.coordinate, form.longitude, "longitude", 180),
        "online_url": check(v.web_url, form.online_url, "online_url"),
        "area": check(v.text, form.area, "area", limit=v.MAX_LINE),
        "private_address": private,
    }
    check.raise_any()
    return values


def _callout_times(
    form: CalloutForm, tz_name: str, now: datetime, check: v.Checks
) -> tuple[datetime | None, datetime | None]:
    """From (now when empty) and until; until must be ahead of both."""
    tz = check(v.zone, tz_name)
    if tz is None:
        return None, None
    starts_at = check(v.moment, form.start, "start", tz) if (form.start or "").strip() else now
    ends_at = check(v.moment, form.until, "until", tz)
    if ends_at is not None and ends_at <= now:
        check.add("until", v.Predicate(_("is in the past")))
    elif ends_at is not None and starts_at is not None and ends_at <= starts_at:
        check.add("until", v.Predicate(_("must be after the start (from)")))
    return starts_at, ends_at


def _no_public_place(form: CalloutForm, check: v.Checks) -> None:
    """With a private address, nothing public may say where exactly: only the area."""
    message = v.Predicate(
        _("must be empty when the address is private: give the public part as area")
    )
    for name in ("location", "address", "latitude", "longitude"):
        if (getattr(form, name) or "").strip():
            check.add(name, message)


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
        area=callout.area,
        private_address=callout.private_address,
    )


async def create_callout(
    node: NodeContext, session: AsyncSession, form: CalloutForm, *, unverified: bool = False
) -> Callout:
    """Publish a callout: ``open`` (go), or ``unverified`` while the report is checked."""
    now = datetime.now(UTC)
    values = callout_values(form, node.settings.timezone, now)
    actor = await actor_id(node, session)
    callout = Callout(
        uri="",
        url="",
        local=True,
        actor_uri=actor,
        origin_domain=url_authority(node.urls.base),
        status="unverified" if unverified else "open",
        content_html="",
        come_count=0,
        help_count=0,
        **values,
    )
    session.add(callout)
    await session.flush()
    callout.uri = callout.url = f"{node.urls.base}/callouts/{callout.id}"
    language = node.settings.language
    created = callout_to_as(callout, node.urls, actor, now=now, language=language)
    await publish(node, session, "Create", created)
    await queue_callout_alerts(node, session, callout, "published")
    return callout


async def update_callout(
    node: NodeContext, session: AsyncSession, callout: Callout, changes: CalloutForm
) -> Callout:
    """Change what was given; more people needed moves standby responders up, in order."""
    now = datetime.now(UTC)
    values = callout_values(changes.merged_into(form_of(callout)), node.settings.timezone, now)
    needed_before = callout.people_needed
    for name, value in values.items():
        setattr(callout, name, value)
    more_or_fewer = callout.people_needed != needed_before
    if more_or_fewer and await after_dispatch_change(node, session, callout, promote=True):
        return callout  # now enough: its Update is out
    return await publish_callout_update(node, session, callout)


async def set_status(
    node: NodeContext, session: AsyncSession, callout: Callout, status: str
) -> Callout:
    """``met`` (the call was answered) or ``cancelled``, through the state machine."""
    action = {"met": "close", "cancelled": "cancel"}.get(status, status)
    return await apply_action(node, session, callout, action, now=datetime.now(UTC))


async def delete_callout(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    """Delete for good, with every record of who answered (``forget_voters``)."""
    now = datetime.now(UTC)
    await forget_voters(session, callout)  # reads the responses: before they go
    await purge_callout_responders(session, callout.id, now)  # the direct messages
    await delete_state_notes(node, session, callout, now)
    session.add(Tombstone(uri=callout.uri, former_type="Question", deleted_at=now))
    await session.delete(callout)
    await publish(node, session, "Delete", tombstone_to_as(callout.uri, "Question", now))


async def record_response(
    session: AsyncSession, callout: Callout, actor_uri: str, option: str, activity_uri: str
) -> bool:
    """Count ``actor_uri``'s answer once; False if that account had answered already.

    Only the response row is written; ``answer_callout`` also dispatches."""
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


async def answer_callout(
    node: NodeContext,
    session: AsyncSession,
    callout: Callout,
    actor_uri: str,
    option: str,
    activity_uri: str,
) -> bool:
    """A vote: recorded once and, for "I can come" on an open or enough callout,
    given its role in the same transaction (confirmed while there is room, else
    standby), which may make the callout ``enough``.

    Dispatching locks the callout row, so that two votes at once cannot both take
    the last place; "I can help another way" and votes while the callout is
    checked only insert their row. In a batch of received activities
    (``batch_dispatch``) the dispatch waits for the end of the batch's
    transaction and runs once per callout for all its votes.
    """
    counted = await record_response(session, callout, actor_uri, option, activity_uri)
    if counted and option == "come" and callout.status in ("open", "enough"):
        due: set[int] | None = session.info.get(_DISPATCH_DUE)
        if due is not None:
            due.add(callout.id)
        else:
            await _dispatch(node, session, callout.id)
    return counted


_DISPATCH_DUE = "tocsin: callouts to dispatch before commit"


def batch_dispatch(session: AsyncSession) -> None:
    """Votes answered through ``session`` are dispatched by ``dispatch_batch``,
    which the caller runs before committing."""
    session.info.setdefault(_DISPATCH_DUE, set())


async def dispatch_batch(node: NodeContext, session: AsyncSession) -> None:
    """Dispatch every callout that got "I can come" votes in ``session``: one row
    lock and one pass over its unassigned answers, in answer order."""
    due: set[int] = session.info.get(_DISPATCH_DUE) or set()
    while due:
        await _dispatch(node, session, min(due))  # in id order: two batches lock alike
        due.discard(min(due))


async def _dispatch(node: NodeContext, session: AsyncSession, callout_id: int) -> None:
    locked = await session.scalar(
        select(Callout)
        .where(Callout.id == callout_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if locked is not None:
        await after_dispatch_change(node, session, locked, promote=False)


async def publish_due_tallies(node: NodeContext, now: datetime) -> int:
    """Send one Update per open callout whose responses no longer match its
    published totals and whose last Update is older than its ``tally_interval``;
    returns how many were sent."""
    # only local, open callouts past the shortest interval are counted (each with
    # the responses' callout index), not every response of every callout each pass
    come, help_ = response_count("come"), response_count("help")
    changed = select(Callout.id, Callout.tally_published_at, come, help_).where(
        Callout.local.is_(True),
        Callout.status.in_(("unverified", "open", "enough")),
        (Callout.tally_published_at.is_(None))
        | (Callout.tally_published_at <= now - TALLY_INTERVAL),
        (come != Callout.come_count) | (help_ != Callout.help_count),
    )
    async with node.sessions() as session, session.begin():
        due = [
            row[0]
            for row in (await session.execute(changed)).all()
            if row[1] is None or row[1] <= now - tally_interval(row[2] + row[3])
        ]
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
