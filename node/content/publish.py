"""Federating a change to one of our objects: Create, Update or Delete, addressed
publicly, to every accepted follower, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import AS_PUBLIC
from node.context import NodeContext
from node.identity import group_actor
from node.outbox import accepted_followers, enqueue, new_activity_id


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def publish(
    node: NodeContext,
    session: AsyncSession,
    kind: str,
    obj: dict[str, Any],
    *,
    extra_recipients: list[Any] | None = None,
) -> None:
    """Queue ``kind`` (Create/Update/Delete/Announce) of ``obj`` to all followers.

    An Announce carries only the object's id: receivers fetch it from its origin.
    """
    local = await group_actor(session)
    actor_id = node.urls.actor(local.username)
    activity = {
        "id": new_activity_id(node.urls),
        "type": kind,
        "actor": actor_id,
        "published": iso(datetime.now(UTC)),
        "to": [AS_PUBLIC],
        "cc": [node.urls.followers(local.username)],
        "object": obj["id"] if kind == "Announce" else obj,
    }
    recipients = [*await accepted_followers(session, local), *(extra_recipients or [])]
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
