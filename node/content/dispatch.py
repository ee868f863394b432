"""Who goes: the first ``people_needed`` "I can come" answers are confirmed, the
rest stand by, and each is told so in a direct message.

Roles follow the order of the answers (the responses' ids). While a callout is
``unverified`` answers are only collected; once it is ``open`` the earliest
unassigned answers are confirmed until the number needed is reached, later ones
are ``standby``. In ``enough`` nobody new is confirmed unless an organiser makes
room (``promote=True``: a confirmed responder removed, or more people needed),
and then standby responders move up in order. A confirmed responder is never
demoted: they were sent the address.

An alert subscriber who answered through their alert link
(``node.alerts.respond``) is told the same things by their own channel instead:
a personal alert job (``queue_personal_alert``), durable and sent once like
every alert.

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
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.alerts.queue import queue_personal_alert
from node.alerts.tokens import is_alert_actor
from node.ap.activities import direct_note_to_as
from node.content import callout_text as words
from node.content.models import Callout, CalloutMessage, CalloutResponse
from node.context import NodeContext
from node.i18n import speaking
from node.identity import group_actor
from node.models import LocalActor, RemoteActor
from node.outbox import enqueue_each, new_activity_id

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


CHUNK = 500  # actors per IN (…) list


async def send_messages(
    node: NodeContext, session: AsyncSession, callout: Callout, messages: list[tuple[str, str]]
) -> int:
    """Queue each ``(actor_uri, kind)`` message not sent before and deliverable (the
    actor is known); returns how many were queued. What was sent, and to whom,
    is read once for all of them."""
    uris = sorted({actor_uri for actor_uri, _ in messages})
    sent: set[tuple[str, str]] = set()
    remotes: dict[str, RemoteActor] = {}
    for start in range(0, len(uris), CHUNK):
        chunk = uris[start : start + CHUNK]
        rows = await session.execute(
            select(CalloutMessage.actor_uri, CalloutMessage.kind).where(
                CalloutMessage.callout_id == callout.id, CalloutMessage.actor_uri.in_(chunk)
            )
        )
        sent.update((uri, kind) for uri, kind in rows.all())
        found = await session.scalars(select(RemoteActor).where(RemoteActor.uri.in_(chunk)))
        remotes.update((remote.uri, remote) for remote in found)
    queued: list[tuple[dict[str, Any], RemoteActor]] = []
    local = None
    for actor_uri, kind in messages:
        remote = remotes.get(actor_uri)
        if (actor_uri, kind) in sent or remote is None:
            continue
        sent.add((actor_uri, kind))
        local = local or await group_actor(session)
        queued.append((_message(node, session, callout, local, remote, kind), remote))
    if local is not None:
        await enqueue_each(
            session, local, queued, object_uri=callout.uri, own_host=node.settings.host
        )
    return len(queued)


async def send_message(
    node: NodeContext, session: AsyncSession, callout: Callout, actor_uri: str, kind: str
) -> bool:
    """Queue the ``kind`` message to ``actor_uri``; False when already sent or undeliverable."""
    return await send_messages(node, session, callout, [(actor_uri, kind)]) == 1


def _message(
    node: NodeContext,
    session: AsyncSession,
    callout: Callout,
    local: LocalActor,
    remote: RemoteActor,
    kind: str,
) -> dict[str, Any]:
    """The direct message, recorded as sent (in ``session``, with its delivery)."""
    mention = f"@{remote.preferred_username}@{remote.domain}"
    now = datetime.now(UTC)
    language = node.settings.language
    with speaking(language):
        content = MESSAGES[kind](callout, remote.uri, mention)
    activity = direct_note_to_as(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        recipient=remote.uri,
        mention=mention,
        content=content,
        in_reply_to=callout.uri,
        published=now,
        language=language,
    )
    session.add(
        CalloutMessage(
            callout_id=callout.id,
            actor_uri=remote.uri,
            kind=kind,
            activity_uri=activity["id"],
            sent_at=now,
        )
    )
    return activity


async def tell(
    node: NodeContext, session: AsyncSession, callout: Callout, answer: CalloutResponse, kind: str
) -> bool:
    """Tell one responder ``kind`` by the way they answered: a direct message to a
    fediverse account, a personal alert to an alert subscriber (none once they
    unsubscribed)."""
    if is_alert_actor(answer.actor_uri):
        if answer.subscription_id is None:
            return False
        return await queue_personal_alert(session, answer.subscription_id, callout, f"you-{kind}")
    return await send_message(node, session, callout, answer.actor_uri, kind)


async def tell_assigned(
    node: NodeContext, session: AsyncSession, callout: Callout, assigned: Assigned
) -> None:
    """Tell each newly confirmed or standby responder: fediverse accounts by direct
    messages queued together, alert subscribers by personal alerts."""
    messages: list[tuple[str, str]] = []
    for kind, answers in (("confirmed", assigned.confirmed), ("standby", assigned.standby)):
        for answer in answers:
            if is_alert_actor(answer.actor_uri):
                await tell(node, session, callout, answer, kind)
            else:
                messages.append((answer.actor_uri, kind))
    await send_messages(node, session, callout, messages)


async def tell_called_off(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    """A cancelled callout or a false alarm: every confirmed responder is told not to go."""
    for answer in await come_answers(session, callout):
        if answer.role == "confirmed":
            await tell(node, session, callout, answer, "called-off")
