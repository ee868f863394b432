"""Sharing a remote event or callout onward: ``Announce`` to our followers, and
``Undo{Announce}`` to take it back."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import id_of
from federation.hosts import url_authority
from node.ap.activities import undo_announce_to_as
from node.content.models import Callout, Event
from node.content.publish import publish
from node.content.receive import store_object
from node.context import NodeContext
from node.i18n import gettext as _
from node.identity import group_actor
from node.models import OutboundActivity
from node.outbox import accepted_followers, enqueue, new_activity_id


class ShareError(ValueError):
    pass


async def share(node: NodeContext, session: AsyncSession, uri: str) -> str:
    """Announce a remote event or callout (fetched from its origin); returns its id."""
    if uri.startswith(node.urls.base + "/"):
        raise ShareError(_("this node's own objects already reach its followers"))
    stored = await session.scalar(select(Event).where(Event.uri == uri)) or await session.scalar(
        select(Callout).where(Callout.uri == uri)
    )
    if stored is None:
        doc = await node.directory.fetch(uri)
        owner = id_of(doc.get("attributedTo")) or id_of(doc.get("actor"))
        if owner is None or url_authority(owner) != url_authority(uri):
            raise ShareError(_("the object's publisher is not on its own server"))
        await node.directory.actor(owner)
        stored = await store_object(session, doc, owner)
        if not isinstance(stored, Event | Callout):
            raise ShareError(_("only events and callouts can be shared"))
    if await _announce_of(session, uri) is not None:
        raise ShareError(_("already shared"))
    await publish(node, session, "Announce", {"id": uri})
    return uri


async def _announce_of(session: AsyncSession, uri: str) -> OutboundActivity | None:
    return await session.scalar(
        select(OutboundActivity).where(
            OutboundActivity.type == "Announce", OutboundActivity.object_uri == uri
        )
    )


async def unshare(node: NodeContext, session: AsyncSession, uri: str) -> None:
    announce = await _announce_of(session, uri)
    if announce is None:
        raise ShareError(_("this node has not shared that"))
    local = await group_actor(session)
    original = json.loads(announce.body)
    original.pop("@context", None)
    undo = undo_announce_to_as(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        followers=node.urls.followers(local.username),
        announce=original,
        published=announce.created_at,
    )
    recipients = await accepted_followers(session, local)
    await enqueue(session, local, undo, recipients=recipients, own_host=node.settings.host)
    announce.object_uri = None  # no longer an active share; kept so its id still resolves
