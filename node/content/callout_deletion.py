"""Deleting one of our callouts forgets everyone who answered it.

The callout's Tombstone and ``Delete`` are published by
``node.content.callouts.delete_callout``; what is here removes the traces:
responses, received vote payloads, earlier activities and their deliveries,
replies, the public state Notes that named it (each followed out by a
``Delete``), and the cached actors of voters the node has no other business
with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.ap.events import tombstone_to_as
from node.content.models import Callout, CalloutResponse, RemoteNote
from node.content.publish import publish
from node.context import NodeContext
from node.models import (
    Delivery,
    Follower,
    Following,
    InboundActivity,
    OutboundActivity,
    RemoteActor,
    RemoteKey,
)


async def delete_state_notes(
    node: NodeContext, session: AsyncSession, callout: Callout, now: datetime
) -> None:
    """The public Notes that told followers of the callout's changes name it and
    its title: they go with it, and a Delete of each follows them out."""
    notes = await session.execute(
        select(OutboundActivity.id, OutboundActivity.object_uri).where(
            OutboundActivity.type == "Create",
            OutboundActivity.public.is_(True),
            OutboundActivity.object_uri != callout.uri,
            OutboundActivity.body.like(_json_string_pattern(callout.uri), escape="\\"),
        )
    )
    for row_id, note_uri in notes.all():
        await session.execute(delete(Delivery).where(Delivery.activity_id == row_id))
        await session.execute(delete(OutboundActivity).where(OutboundActivity.id == row_id))
        if note_uri:
            await publish(node, session, "Delete", tombstone_to_as(note_uri, "Note", now))


async def forget_voters(session: AsyncSession, callout: Callout) -> None:
    """Remove every trace of the accounts that answered ``callout``: their
    responses, their received vote payloads (processed ones; a pending one is
    dropped when processed and purged later), the callout's earlier activities
    and their deliveries (to followers and voters), notes in reply to it, and the
    cached actor and key of a voter the node has no other business with."""
    voters = set(
        (
            await session.scalars(
                select(CalloutResponse.actor_uri).where(CalloutResponse.callout_id == callout.id)
            )
        ).all()
    )
    vote_ids = select(CalloutResponse.activity_uri).where(CalloutResponse.callout_id == callout.id)
    quoted = _json_string_pattern(callout.uri)
    await session.execute(
        delete(InboundActivity)
        .where(InboundActivity.state != "pending")
        .where(
            InboundActivity.uri.in_(vote_ids)
            | (InboundActivity.type == "Create")
            & cast(InboundActivity.payload, Text).like(quoted, escape="\\")
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(CalloutResponse).where(CalloutResponse.callout_id == callout.id))
    earlier = select(OutboundActivity.id).where(OutboundActivity.object_uri == callout.uri)
    await session.execute(delete(Delivery).where(Delivery.activity_id.in_(earlier)))
    await session.execute(
        delete(OutboundActivity).where(OutboundActivity.object_uri == callout.uri)
    )
    await session.execute(delete(RemoteNote).where(RemoteNote.in_reply_to == callout.uri))
    await _forget_remote_actors(session, voters)


def _json_string_pattern(value: str) -> str:
    """A LIKE pattern (escape ``\\``) for ``value`` as a whole JSON string in a document."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


async def _forget_remote_actors(session: AsyncSession, uris: set[str]) -> None:
    """Drop cached actors (and keys) among ``uris`` that neither follow us, nor are
    followed, nor answered another callout."""
    if not uris:
        return
    kept = set(
        (
            await session.scalars(
                select(CalloutResponse.actor_uri).where(CalloutResponse.actor_uri.in_(uris))
            )
        ).all()
    )
    for model in (Follower, Following):
        kept.update(
            (
                await session.scalars(
                    select(RemoteActor.uri)
                    .join(model, model.remote_actor_id == RemoteActor.id)
                    .where(RemoteActor.uri.in_(uris))
                )
            ).all()
        )
    gone = uris - kept
    if gone:
        await session.execute(delete(RemoteKey).where(RemoteKey.owner_uri.in_(gone)))
        await session.execute(delete(RemoteActor).where(RemoteActor.uri.in_(gone)))


# -- responses -------------------------------------------------------------------------
