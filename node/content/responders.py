"""Who answered a callout, for its organisers only: confirmed and standby
responders in order, counts per server, who was messaged; removing a
responder; and forgetting them all some days after the callout ends.

Nobody but the organisers sees identities: no public path reads these tables.
``purge_responders`` deletes the responses, the record of messages, and the
direct messages themselves with their delivery rows (the stored bodies carry
the private address and the responders' names), once the callout has ended
(a final state, or its ``until``) more than the retention days ago.

Answers of alert subscribers (``node.alerts.respond``) are responses too, shown
beside the fediverse ones with the name and way to be reached they gave; what
they were told is read from their personal alert jobs, which the purge deletes
with the responses (a job row says who was confirmed).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.hosts import url_authority
from node.alerts.models import AlertJob, AlertSubscription
from node.alerts.tokens import is_alert_actor
from node.alerts.words import PERSONAL_CHANGES
from node.content.callout_publish import publish_callout_update
from node.content.callout_states import after_dispatch_change
from node.content.models import Callout, CalloutMessage, CalloutResponse
from node.context import NodeContext
from node.i18n import gettext as _
from node.models import Delivery, OutboundActivity, RemoteActor

ROLE_ORDER = {"confirmed": 0, "standby": 1, None: 2, "removed": 3}


@dataclass(frozen=True)
class Responder:
    actor_uri: str
    option: str  # come|help
    role: str | None  # confirmed|standby|removed, or None
    answered_at: datetime
    messaged: tuple[str, ...]  # kinds of direct message sent: confirmed, standby, called-off
    via_alert: bool = False  # answered through an alert's personal link
    channel: str | None = None  # that subscription's: push|email; None once it is gone
    name: str = ""  # what an alert subscriber chose to give, for organisers only
    reach: str = ""

    @property
    def label(self) -> str:
        if self.option == "help":
            return "help"
        return self.role or "pending"  # pending: answered while being checked


@dataclass(frozen=True)
class ResponderReport:
    responders: list[Responder]
    per_server: list[tuple[str, int]]  # most answers first: a flood from one server shows


async def responder_report(session: AsyncSession, callout: Callout) -> ResponderReport:
    rows = list(
        (
            await session.scalars(
                select(CalloutResponse)
                .where(CalloutResponse.callout_id == callout.id)
                .order_by(CalloutResponse.id)
            )
        ).all()
    )
    messages: dict[str, list[str]] = {}
    sent = await session.scalars(
        select(CalloutMessage).where(CalloutMessage.callout_id == callout.id)
    )
    for message in sent:
        messages.setdefault(message.actor_uri, []).append(message.kind)
    told, channels = await _alert_side(session, callout)
    responders = [
        Responder(
            r.actor_uri,
            r.option,
            r.role,
            r.created_at,
            tuple(
                told.get(r.subscription_id or 0, [])
                if is_alert_actor(r.actor_uri)
                else messages.get(r.actor_uri, [])
            ),
            via_alert=is_alert_actor(r.actor_uri),
            channel=channels.get(r.subscription_id or 0),
            name=r.name,
            reach=r.reach,
        )
        for r in rows
    ]
    responders.sort(key=lambda r: ROLE_ORDER.get(r.role, 2) if r.option == "come" else 2)
    no_account = _("alert subscribers (no account)")
    servers = Counter(
        no_account if is_alert_actor(r.actor_uri) else url_authority(r.actor_uri) for r in rows
    )
    return ResponderReport(responders, sorted(servers.items(), key=lambda i: (-i[1], i[0])))


async def _alert_side(
    session: AsyncSession, callout: Callout
) -> tuple[dict[int, list[str]], dict[int, str]]:
    """What each alert subscriber who answered was told (sent or on its way), and
    their channel, by subscription id."""
    told: dict[int, list[str]] = {}
    jobs = await session.execute(
        select(AlertJob.subscription_id, AlertJob.change)
        .where(
            AlertJob.subject == "callout",
            AlertJob.subject_id == callout.id,
            AlertJob.change.in_(PERSONAL_CHANGES),
        )
        .order_by(AlertJob.id)
    )
    for subscription_id, change in jobs.all():
        told.setdefault(subscription_id, []).append(PERSONAL_CHANGES[change])
    channels = await session.execute(
        select(AlertSubscription.id, AlertSubscription.channel)
        .join(CalloutResponse, CalloutResponse.subscription_id == AlertSubscription.id)
        .where(CalloutResponse.callout_id == callout.id)
    )
    return told, {sub_id: channel for sub_id, channel in channels.all()}


async def remove_responder(
    node: NodeContext, session: AsyncSession, callout: Callout, actor_uri: str
) -> None:
    """Take a responder off the list (a no-show, a flood account): the first on
    standby moves up, and is messaged. Their answer stays recorded (as removed),
    so it is not counted again if they answer again."""
    response = await session.scalar(
        select(CalloutResponse).where(
            CalloutResponse.callout_id == callout.id, CalloutResponse.actor_uri == actor_uri
        )
    )
    if response is None:
        raise ValueError(_("%(actor)s did not answer this callout", actor=actor_uri))
    if response.role == "removed":
        raise ValueError(_("%(actor)s was already removed", actor=actor_uri))
    response.role = "removed"
    await session.flush()
    if not await after_dispatch_change(node, session, callout, promote=True):
        await publish_callout_update(node, session, callout)


async def purge_responders(node: NodeContext, now: datetime) -> int:
    """Forget who answered callouts that ended more than the retention days ago;
    returns how many callouts were purged."""
    cutoff = now - timedelta(days=node.settings.retention_days)
    async with node.sessions() as session, session.begin():
        due = list(
            (
                await session.scalars(
                    select(Callout.id).where(
                        Callout.local.is_(True),
                        Callout.responders_purged_at.is_(None),
                        or_(Callout.ended_at < cutoff, Callout.ends_at < cutoff),
                    )
                )
            ).all()
        )
        for callout_id in due:
            await purge_callout_responders(session, callout_id, now)
    return len(due)


async def purge_callout_responders(session: AsyncSession, callout_id: int, now: datetime) -> None:
    """Delete who answered the callout (by the fediverse or an alert link), the
    direct messages and personal alerts sent to them (which carry the private
    address) and every delivery naming them."""
    sent = select(CalloutMessage.activity_uri).where(CalloutMessage.callout_id == callout_id)
    activities = select(OutboundActivity.id).where(OutboundActivity.uri.in_(sent))
    await session.execute(delete(Delivery).where(Delivery.activity_id.in_(activities)))
    # the Updates sent to each responder's own inbox name them too
    about = select(Callout.uri).where(Callout.id == callout_id).scalar_subquery()
    inboxes = (
        select(RemoteActor.inbox)
        .join(CalloutResponse, CalloutResponse.actor_uri == RemoteActor.uri)
        .where(CalloutResponse.callout_id == callout_id)
    )
    updates = select(OutboundActivity.id).where(OutboundActivity.object_uri == about)
    await session.execute(
        delete(Delivery).where(Delivery.activity_id.in_(updates), Delivery.inbox_url.in_(inboxes))
    )
    await session.execute(delete(OutboundActivity).where(OutboundActivity.uri.in_(sent)))
    await session.execute(delete(CalloutMessage).where(CalloutMessage.callout_id == callout_id))
    await session.execute(  # an alert subscriber's "you are confirmed" names them too
        delete(AlertJob).where(
            AlertJob.subject == "callout",
            AlertJob.subject_id == callout_id,
            AlertJob.change.in_(PERSONAL_CHANGES),
        )
    )
    await session.execute(delete(CalloutResponse).where(CalloutResponse.callout_id == callout_id))
    callout = await session.get(Callout, callout_id)
    if callout is not None:
        callout.responders_purged_at = now
