"""Federating a change to one of our objects: Create, Update or Delete, addressed
publicly, to every accepted follower, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from federation.fanout import Recipient
from node.ap.activities import PublicationKind, announce_to_as, publication_to_as
from node.context import NodeContext
from node.identity import group_actor
from node.outbox import enqueue, follower_inboxes, new_activity_id


async def publish(
    node: NodeContext,
    session: AsyncSession,
    kind: PublicationKind | Literal["Announce"],
    obj: dict[str, Any],
    *,
    extra_recipients: Sequence[Recipient] | None = None,
) -> None:
    """Queue ``kind`` (Create/Update/Delete/Announce) of ``obj`` to all followers.

    An Announce carries only the object's id: receivers fetch it from its origin.
    """
    local = await group_actor(session)
    activity_id, now = new_activity_id(node.urls), datetime.now(UTC)
    actor, followers = node.urls.actor(local.username), node.urls.followers(local.username)
    if kind == "Announce":
        activity = announce_to_as(
            activity_id=activity_id,
            actor=actor,
            followers=followers,
            object_id=obj["id"],
            published=now,
        )
    else:
        activity = publication_to_as(
            kind, activity_id=activity_id, actor=actor, followers=followers, obj=obj, published=now
        )
    recipients = [*await follower_inboxes(session, local), *(extra_recipients or [])]
    object_uri = obj["id"]
    await enqueue(
        session,
        local,
        activity,
        recipients=recipients,
        public=True,
        object_uri=object_uri,
        own_host=node.settings.host,
    )
