"""Publishing: an outbound activity and its deliveries, written in the caller's
transaction together with the change the activity describes.

Nothing is sent here. The worker picks the delivery rows up; a crash between
the change and the send loses nothing, because both are one commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.fanout import Recipient, delivery_inboxes
from federation.hosts import url_authority
from federation.retry import UNREACHABLE_RETRY_INTERVAL
from node.allowlist import load_policy
from node.ap.context import document
from node.blocks import covers
from node.content.models import Tombstone
from node.models import (
    Delivery,
    DomainBlock,
    DomainHealth,
    Follower,
    LocalActor,
    OutboundActivity,
    RemoteActor,
)
from node.urls import Urls


def new_activity_id(urls: Urls) -> str:
    return urls.activity(uuid.uuid4().hex)


def serialize(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


async def accepted_followers(session: AsyncSession, actor: LocalActor) -> list[RemoteActor]:
    rows = await session.scalars(
        select(RemoteActor)
        .join(Follower, Follower.remote_actor_id == RemoteActor.id)
        .where(Follower.local_actor_id == actor.id, Follower.state == "accepted")
    )
    return list(rows.all())


async def follower_inboxes(session: AsyncSession, actor: LocalActor) -> list[Recipient]:
    """Where ``actor``'s accepted followers receive: (inbox, shared inbox) pairs,
    each once, without building an actor object per follower."""
    rows = await session.execute(
        select(RemoteActor.inbox, RemoteActor.shared_inbox)
        .join(Follower, Follower.remote_actor_id == RemoteActor.id)
        .where(Follower.local_actor_id == actor.id, Follower.state == "accepted")
        .distinct()
    )
    return list(rows.all())


async def enqueue(
    session: AsyncSession,
    actor: LocalActor,
    activity: dict[str, Any],
    *,
    recipients: Iterable[Recipient],
    shared_inboxes: bool = True,
    public: bool = False,
    object_uri: str | None = None,
    own_host: str,
) -> OutboundActivity:
    """Store ``activity`` (given without ``@context``) and one delivery per target inbox.

    Inboxes on blocked servers, on servers not listed while allow-list-only mode
    is on, and on this node itself are skipped; a server
    marked unreachable gets its delivery scheduled for the next probe instead
    of now. The caller commits.
    """
    body = serialize(document(activity))
    row = OutboundActivity(
        uri=activity["id"],
        local_actor_id=actor.id,
        type=activity["type"],
        object_uri=object_uri,
        public=public,
        body=body,
    )
    session.add(row)
    await session.flush()
    inboxes = delivery_inboxes(recipients, shared=shared_inboxes)
    for inbox, due in (await _deliverable(session, inboxes, own_host)).items():
        domain = url_authority(inbox)
        session.add(
            Delivery(activity_id=row.id, inbox_url=inbox, domain=domain, next_attempt_at=due)
        )
    return row


async def enqueue_each(
    session: AsyncSession,
    actor: LocalActor,
    messages: Sequence[tuple[dict[str, Any], Recipient]],
    *,
    object_uri: str | None = None,
    own_host: str,
) -> None:
    """Many activities, each for one actor's own inbox and not public (direct
    messages): as ``enqueue(…, shared_inboxes=False)`` for each, with the rows
    inserted together and the block list, the allow-list policy and the
    unreachable servers read once for all of them."""
    if not messages:
        return
    rows = [
        OutboundActivity(
            uri=activity["id"],
            local_actor_id=actor.id,
            type=activity["type"],
            object_uri=object_uri,
            public=False,
            body=serialize(document(activity)),
        )
        for activity, _ in messages
    ]
    session.add_all(rows)
    await session.flush()
    due = await _deliverable(session, [recipient.inbox for _, recipient in messages], own_host)
    for row, (_, recipient) in zip(rows, messages, strict=True):
        if recipient.inbox in due:
            session.add(
                Delivery(
                    activity_id=row.id,
                    inbox_url=recipient.inbox,
                    domain=url_authority(recipient.inbox),
                    next_attempt_at=due[recipient.inbox],
                )
            )


async def _deliverable(
    session: AsyncSession, inboxes: Iterable[str], own_host: str
) -> dict[str, datetime]:
    """The inboxes that may be delivered to, each with when its delivery is due.

    Inboxes on blocked servers, on servers not listed while allow-list-only mode
    is on, and on this node itself are left out; a server marked unreachable is
    due at its next probe instead of now.
    """
    blocked = set((await session.scalars(select(DomainBlock.domain))).all())
    allowed = await load_policy(session)  # allow-list-only mode: nothing to unlisted servers
    now = datetime.now(UTC)
    targets: dict[str, str] = {}
    for inbox in inboxes:
        domain = url_authority(inbox)
        if domain == own_host or any(covers(block, domain) for block in blocked):
            continue
        if not allowed.permits(domain, own_host):
            continue
        targets[inbox] = domain
    unreachable = await _unreachable(session, set(targets.values()))
    return {
        inbox: now + UNREACHABLE_RETRY_INTERVAL if domain in unreachable else now
        for inbox, domain in targets.items()
    }


async def _unreachable(session: AsyncSession, domains: set[str]) -> set[str]:
    """Which of ``domains`` are marked unreachable: one query per thousand, not one each."""
    found: set[str] = set()
    ordered = sorted(domains)
    for start in range(0, len(ordered), 1000):
        rows = await session.scalars(
            select(DomainHealth.domain).where(
                DomainHealth.domain.in_(ordered[start : start + 1000]),
                DomainHealth.unreachable_since.is_not(None),
            )
        )
        found.update(rows.all())
    return found


# -- what is served: only the current version of what still exists --------------------


def _subject() -> Any:
    """What an activity is about: its object, or the activity itself when it has none."""
    return func.coalesce(OutboundActivity.object_uri, OutboundActivity.uri)


def current_activities(actor: LocalActor) -> Select[Any]:
    """The outbox: per object, its newest public activity; nothing of deleted objects.

    Like Mastodon's outbox (one ``Create`` per status, showing the status as it
    is now), an edited object is listed once, as its latest ``Create``/``Update``,
    and a deleted object (a tombstone) is not listed at all, its ``Delete``
    included: the outbox serves only what is current.
    """
    newest = (
        select(func.max(OutboundActivity.id))
        .where(OutboundActivity.local_actor_id == actor.id, OutboundActivity.public.is_(True))
        .group_by(_subject())
    )
    deleted = select(Tombstone.uri).where(Tombstone.uri == OutboundActivity.object_uri)
    return (
        select(OutboundActivity.body)
        .where(OutboundActivity.id.in_(newest), ~deleted.exists())
        .order_by(OutboundActivity.id.desc())
    )


async def is_deleted(session: AsyncSession, row: OutboundActivity) -> bool:
    """Whether the object ``row`` is about was deleted (its ``Delete`` itself excepted)."""
    if row.object_uri is None or row.type == "Delete":
        return False
    return await session.get(Tombstone, row.object_uri) is not None


async def current_body(session: AsyncSession, row: OutboundActivity) -> dict[str, Any]:
    """``row``'s document, carrying its object as last published.

    A superseded ``Create`` or ``Update`` keeps its own id and envelope but shows
    the object as its newest activity does — as Mastodon serves a status's
    ``Create`` at its activity URL with the status as it is now — so an address
    edited out of a callout cannot be read back from an older activity.
    """
    doc: dict[str, Any] = json.loads(row.body)
    if row.object_uri is None or row.type not in ("Create", "Update"):
        return doc
    newest = await session.scalar(
        select(OutboundActivity.body)
        .where(
            OutboundActivity.object_uri == row.object_uri,
            OutboundActivity.local_actor_id == row.local_actor_id,
            OutboundActivity.type.in_(("Create", "Update")),
            OutboundActivity.id > row.id,
        )
        .order_by(OutboundActivity.id.desc())
        .limit(1)
    )
    if newest is not None:
        doc["object"] = json.loads(newest)["object"]
    return doc
