"""The Group actor's document as it is now: the profile plus the node's switches
(discoverable, indexable, a published block list, former and new actors)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.ap.activities import actor_update_to_as
from node.ap.actors import group_to_as
from node.context import NodeContext
from node.identity import group_actor
from node.models import LocalActor, utcnow
from node.outbox import accepted_followers, enqueue, new_activity_id
from node.settings_store import get_setting
from node.urls import Urls

ALIASES = "also_known_as"  # the node's former actor URLs (``tocsin alias``)
MOVED_TO = "moved_to"  # the node's new actor URL once it moved (``tocsin move``)


async def group_document(session: AsyncSession, urls: Urls) -> dict[str, Any]:
    actor = await group_actor(session)
    aliases = await get_setting(session, ALIASES, [])
    moved_to = await get_setting(session, MOVED_TO, None)
    return group_to_as(
        actor,
        urls,
        discoverable=bool(await get_setting(session, "discoverable")),
        indexable=bool(await get_setting(session, "indexable")),
        block_list=bool(await get_setting(session, "blocklist_published", False)),
        also_known_as=list(aliases) if isinstance(aliases, list) else [],
        moved_to=moved_to if isinstance(moved_to, str) else None,
    )


async def send_actor_update(node: NodeContext, session: AsyncSession, local: LocalActor) -> None:
    """Queue ``Update`` of the Group actor, as it is now, to its followers."""
    local.updated_at = utcnow()  # the served actor document follows
    doc = await group_document(session, node.urls)
    doc.pop("@context", None)
    activity = actor_update_to_as(
        activity_id=new_activity_id(node.urls),
        actor_doc=doc,
        followers=node.urls.followers(local.username),
    )
    await enqueue(
        session,
        local,
        activity,
        recipients=await accepted_followers(session, local),
        public=True,
        object_uri=doc["id"],
        own_host=node.settings.host,
    )
