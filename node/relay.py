"""Relaying urgent callouts: a callout of a neighbouring network reaches this
node's followers at once, without anyone sharing it by hand.

When a callout with urgency ``urgent`` arrives (in a ``Create``, or an
``Announce`` from a followed relayer) from a network whose following has
``relay_urgent`` on, this node ``Announce``s it to its own followers: by id
only, so every receiver fetches it from its origin (``node.content.receive``).

State changes are told in a short public ``Note`` of this node, in reply to
the callout ("UPDATE from Haringey Renters: CANCELLED — Eviction at 7am"):
Mastodon ignores a second ``Announce`` of an object it has seen, and another
server's signed ``Update`` cannot be re-signed and forwarded. The reply shows
in Mastodon timelines under the callout; a Tocsin node that holds the callout
as relayed by us refetches it from its origin on that reply
(``node.content.receive``), and so relays the change onward in turn.

Loops are impossible: a callout is relayed once per node (``relayed_callouts``
is unique by object), never one this node published, never to followers on the
callout's own server; and the relay stops when the callout is over (a final
state, or past its end), after telling that last change.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import AS_PUBLIC
from node.ap.activities import announce_to_as, publication_to_as
from node.content.models import Callout
from node.context import NodeContext
from node.identity import group_actor
from node.models import Following, RelayedCallout, RemoteActor, utcnow
from node.outbox import accepted_followers, enqueue, new_activity_id

log = logging.getLogger(__name__)

FINAL_STATES = frozenset({"met", "cancelled", "closed", "false-alarm"})
STATE_LABELS = {
    "open": "OPEN AGAIN",
    "enough": "ENOUGH PEOPLE",
    "met": "MET",
    "cancelled": "CANCELLED",
    "closed": "CLOSED",
    "false-alarm": "FALSE ALARM",
    "unverified": "NOT YET VERIFIED",
}


async def relays_urgent(session: AsyncSession, actor_uri: str) -> bool:
    """Whether this node relays the urgent callouts ``actor_uri`` sends it."""
    found = await session.scalar(
        select(Following.id)
        .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
        .where(
            RemoteActor.uri == actor_uri,
            Following.state == "accepted",
            Following.relay_urgent.is_(True),
        )
    )
    return found is not None


def _is_live(callout: Callout, now: datetime) -> bool:
    return callout.status not in FINAL_STATES and callout.ends_at > now


async def relay_callout(
    node: NodeContext, session: AsyncSession, callout: Callout, via: str
) -> bool:
    """Announce ``callout`` (just received from ``via``) if it is to be relayed."""
    if callout.local or callout.urgency != "urgent" or callout.uri.startswith(node.urls.base):
        return False
    if not _is_live(callout, datetime.now(UTC)) or not await relays_urgent(session, via):
        return False
    if await session.scalar(
        select(RelayedCallout.id).where(RelayedCallout.object_uri == callout.uri)
    ):
        return False  # once per node
    row = RelayedCallout(
        object_uri=callout.uri,
        origin_domain=callout.origin_domain or "",
        status=callout.status,
        finished=False,
    )
    async with session.begin_nested():  # a concurrent relay of the same object loses here
        session.add(row)
        await session.flush()
    local = await group_actor(session)
    actor, followers = node.urls.actor(local.username), node.urls.followers(local.username)
    activity = announce_to_as(
        activity_id=new_activity_id(node.urls),
        actor=actor,
        followers=followers,
        object_id=callout.uri,
        published=datetime.now(UTC),
    )
    await _send(node, session, callout, activity, callout.uri)
    log.info("relayed urgent callout %s from %s", callout.uri, via)
    return True


async def relay_change(node: NodeContext, session: AsyncSession, callout: Callout) -> bool:
    """Tell our followers that a callout we relayed changed state (once per change)."""
    row = await session.scalar(
        select(RelayedCallout).where(RelayedCallout.object_uri == callout.uri)
    )
    if row is None or row.finished:
        return False
    over = not _is_live(callout, datetime.now(UTC))
    if callout.status == row.status and not over:
        return False
    row.status, row.finished, row.updated_at = callout.status, over, utcnow()
    if callout.status == "open" and over:
        return False  # simply expired: nothing new to tell
    local = await group_actor(session)
    note = _update_note(node, local.username, callout, await _origin_name(session, callout))
    activity = publication_to_as(
        "Create",
        activity_id=note["id"].removesuffix("#note"),
        actor=note["attributedTo"],
        followers=node.urls.followers(local.username),
        obj=note,
        published=datetime.now(UTC),
    )
    await _send(node, session, callout, activity, note["id"])
    return True


async def _origin_name(session: AsyncSession, callout: Callout) -> str:
    origin = await session.scalar(select(RemoteActor).where(RemoteActor.uri == callout.actor_uri))
    return (origin.name or origin.preferred_username) if origin else callout.origin_domain or ""


def _update_note(node: NodeContext, username: str, callout: Callout, origin: str) -> dict[str, Any]:
    label = STATE_LABELS.get(callout.status, callout.status.upper())
    text = f"UPDATE from {origin}: {label} — {callout.title}"
    activity_id, link = new_activity_id(node.urls), escape(callout.uri)
    return {
        "id": f"{activity_id}#note",
        "type": "Note",
        "attributedTo": node.urls.actor(username),
        "inReplyTo": callout.uri,
        "content": f'<p>{escape(text)} <a href="{link}">{link}</a></p>',
        "to": [AS_PUBLIC],
        "cc": [node.urls.followers(username)],
        "published": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


async def _send(
    node: NodeContext,
    session: AsyncSession,
    callout: Callout,
    activity: dict[str, Any],
    object_uri: str,
) -> None:
    """To our accepted followers, except those on the callout's own server."""
    local = await group_actor(session)
    recipients = [
        follower
        for follower in await accepted_followers(session, local)
        if follower.domain != callout.origin_domain
    ]
    await enqueue(
        session,
        local,
        activity,
        recipients=recipients,
        public=True,
        object_uri=object_uri,
        own_host=node.settings.host,
    )
