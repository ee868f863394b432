"""The Group actor's document as it is now: the profile plus the node's switches
(discoverable, indexable, a published block list, former and new actors)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.ap.actors import group_to_as
from node.identity import group_actor
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
