"""Who goes: the first ``people_needed`` "I can come" answers are confirmed, the
rest stand by, and each is told so in a direct message.

Roles follow the order of the answers (the responses' ids). While a callout is
``unverified`` answers are only collected; once it is ``open`` the earliest
unassigned answers are confirmed until the number needed is reached, later ones
are ``standby``. In ``enough`` nobody new is confirmed unless an organiser makes
room (``promote=True``: a confirmed responder removed, or more people needed),
and then standby responders move up in order. A confirmed responder is never
demoted: they were sent the address.

Direct messages go to the responder's own inbox (not their server's shared
inbox): a message for one person is one delivery either way, and the personal
inbox needs no receiver to route by ``to``. Each is written in the caller's
transaction with its delivery row, and recorded in ``callout_messages``, so
nobody is told the same thing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.ap.activities import direct_note_to_as
from node.content import callout_text as words
from node.content.models import Callout, CalloutMessage, CalloutResponse
from node.context import NodeContext
from node.identity import group_actor
from node.models import RemoteActor
from node.outbox import enqueue, new_activity_id

Message = Callable[[Callout, str, str], str]
MESSAGES: dict[str, Message] = {
    "confirmed": words.confirmed_message,
    "standby": words.standby_message,
    "called-off": words.called_off_message,
}


@dataclass
class Assigned:
    confirmed: list[CalloutResponse] = field(default_factory=list)  # newly confirmed
    standby: list[CalloutResponse] = field(default_factory=list)  # newly on standby


async def come_answers(session: AsyncSession, callout: Callout) -> list[CalloutResponse]:
    rows = await session.scalars(
        select(CalloutResponse)
        .where(CalloutResponse.callout_id == callout.id, CalloutResponse.option == "come")
        .order_by(CalloutResponse.id)
    )
    return list(rows.all())


async def assign_roles(session: AsyncSession, callout: Callout, *, promote: bool) -> Assigned:
    """Give every "I can come" answer its role; returns who changed role.

    Reads only the answers that may change role: without room, those not yet
    assigned; with room, the standby ones too (they move up first, in order).
    The confirmed are counted, not loaded: a storm of votes dispatched in
    batches does not reread every earlier answer.
    """
    assigned = Assigned()
    if callout.status not in ("open", "enough"):
        return assigned
    confirmed = await session.scalar(
        select(func.count()).where(
            CalloutResponse.callout_id == callout.id,
            CalloutResponse.option == "come",
            CalloutResponse.role == "confirmed",
        )
    )
    confirmed = int(confirmed or 0)
    fill = callout.status == "open" or promote
    may_move: list[ColumnElement[bool]] = [CalloutResponse.role.is_(None)]
    if fill and (callout.people_needed is None or confirmed < callout.people_needed):
        may_move.append(CalloutResponse.role == "standby")
    answers = await session.scalars(
        select(CalloutResponse)
        .where(
            CalloutResponse.callout_id == callout.id,
            CalloutResponse.option == "come",
            or_(*may_move),
        )
        .order_by(CalloutResponse.id)
    )
    for answer in answers.all():
        room = callout.people_needed is None or confirmed < callout.people_needed
        if fill and room:
            answer.role = "confirmed"
            confirmed += 1
            assigned.confirmed.append(answer)
        elif answer.role != "standby":
            answer.role = "standby"
            assigned.standby.append(answer)
    callout.confirmed_count = confirmed
    return assigned


def is_full(callout: Callout) -> bool:
    needed = callout.people_needed
    return needed is not None and callout.confirmed_count >= needed


async def _was_sent(session: AsyncSession, callout: Callout, actor_uri: str, kind: str) -> bool:
    found = await session.scalar(
        select(CalloutMessage.id).where(
            CalloutMessage.callout_id == callout.id,
            CalloutMessage.actor_uri == actor_uri,
            CalloutMessage.kind == kind,
        )
    )
    return found is not None


async def send_message(
    node: NodeContext, session: AsyncSession, callout: Callout, actor_uri: str, kind: str
) -> bool:
    """Queue the ``kind`` message to ``actor_uri``; False when already sent or undeliverable."""
    if await _was_sent(session, callout, actor_uri, kind):
        return False
    remote = await session.scalar(select(RemoteActor).where(RemoteActor.uri == actor_uri))
    if remote is None:
        return False
    local = await group_actor(session)
    mention = f"@{remote.preferred_username}@{remote.domain}"
    now = datetime.now(UTC)
    activity = direct_note_to_as(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        recipient=actor_uri,
        mention=mention,
        content=MESSAGES[kind](callout, actor_uri, mention),
        in_reply_to=callout.uri,
        published=now,
    )
    await enqueue(
        session,
        local,
        activity,
        recipients=[remote],
        shared_inboxes=False,
        public=False,
        object_uri=callout.uri,
        own_host=node.settings.host,
    )
    session.add(
        CalloutMessage(
            callout_id=callout.id,
            actor_uri=actor_uri,
            kind=kind,
            activity_uri=activity["id"],
            sent_at=now,
        )
    )
    return True


async def tell_assigned(
    node: NodeContext, session: AsyncSession, callout: Callout, assigned: Assigned
) -> None:
    for answer in assigned.confirmed:
        await send_message(node, session, callout, answer.actor_uri, "confirmed")
    for answer in assigned.standby:
        await send_message(node, session, callout, answer.actor_uri, "standby")


async def tell_called_off(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    """A cancelled callout or a false alarm: every confirmed responder is told not to go."""
    for answer in await come_answers(session, callout):
        if answer.role == "confirmed":
            await send_message(node, session, callout, answer.actor_uri, "called-off")
