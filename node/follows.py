"""Following, both ways.

Incoming: a remote actor follows our Group. Accepted at once unless the node
approves followers by hand; the Accept embeds the Follow exactly as received
(id, type, actor, object), which is what Mastodon matches on.

Outgoing: our Group follows a remote actor. The follow stays pending until the
followed actor itself Accepts it (never before: Pixelfed's CVE-2025-30741).
Every Follow we send has a new id, a re-follow after Undo included.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import Activity
from node.ap.activities import (
    accept_to_as,
    follow_ref_to_as,
    follow_to_as,
    reject_to_as,
    undo_follow_to_as,
)
from node.config import Settings
from node.context import NodeContext
from node.i18n import gettext as _
from node.identity import group_actor
from node.models import Follower, Following, LocalActor, RemoteActor, utcnow
from node.outbox import enqueue, new_activity_id
from node.settings_store import get_setting

log = logging.getLogger(__name__)


class FollowError(ValueError):
    """A follow operation cannot be done; the message says why."""


L = TypeVar("L", Follower, Following)


async def _link(
    session: AsyncSession, model: type[L], local: LocalActor, remote: RemoteActor
) -> L | None:
    """The follow between ``local`` and ``remote`` in one direction, if any."""
    return await session.scalar(
        select(model).where(model.local_actor_id == local.id, model.remote_actor_id == remote.id)
    )


async def send_to_actor(
    node: NodeContext,
    session: AsyncSession,
    local: LocalActor,
    remote: RemoteActor,
    activity: dict[str, Any],
) -> None:
    """Queue an activity meant for one actor, to its personal inbox (not shared)."""
    await enqueue(
        session,
        local,
        activity,
        recipients=[remote],
        shared_inboxes=False,
        own_host=node.settings.host,
    )


async def _remote(session: AsyncSession, uri: str) -> RemoteActor | None:
    return await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))


async def _answer(
    node: NodeContext,
    session: AsyncSession,
    local: LocalActor,
    remote: RemoteActor,
    kind: Literal["Accept", "Reject"],
    follow: dict[str, Any],
) -> None:
    """Queue an Accept or Reject of ``follow`` to the follower's own inbox."""
    build = accept_to_as if kind == "Accept" else reject_to_as
    activity = build(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        follow=follow,
        follower=remote.uri,
    )
    await send_to_actor(node, session, local, remote, activity)


# -- incoming ---------------------------------------------------------------------------


async def receive_follow(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    local = await group_actor(session)
    actor_id = node.urls.actor(local.username)
    if activity.object_id != actor_id:
        log.info("ignoring Follow %s of %s: not an actor of ours", activity.id, activity.object_id)
        return
    remote = await _remote(session, activity.actor)
    if remote is None:
        await node.directory.actor(activity.actor, session=session)
        remote = await _remote(session, activity.actor)
        assert remote is not None
    follow = follow_ref_to_as(follow_id=activity.id, actor=activity.actor, target=actor_id)
    row = await _link(session, Follower, local, remote)
    if row is None:
        state = "pending" if local.manually_approves_followers else "accepted"
        row = Follower(
            local_actor_id=local.id,
            remote_actor_id=remote.id,
            follow_uri=activity.id,
            follow_activity=follow,
            state=state,
            accepted_at=utcnow() if state == "accepted" else None,
        )
        session.add(row)
    else:  # a repeated Follow: remember the newest, and answer it again if accepted
        row.follow_uri, row.follow_activity = activity.id, follow
    if row.state == "accepted":
        await _answer(node, session, local, remote, "Accept", follow)


async def receive_undo_follow(node: NodeContext, session: AsyncSession, activity: Activity) -> bool:
    """Remove the follower an Undo{Follow} names; False when it names none."""
    ref = activity.follow_ref()
    local = await group_actor(session)
    remote = await _remote(session, activity.actor)
    if ref is None or remote is None:
        return False
    row = await _link(session, Follower, local, remote)
    if row is None:
        return False
    same_id = ref.id is not None and ref.id == row.follow_uri
    same_pair = ref.object == node.urls.actor(local.username) and ref.actor in (None, remote.uri)
    if not (same_id or same_pair):
        return False
    await session.delete(row)
    return True


async def _following_answered(
    node: NodeContext, session: AsyncSession, activity: Activity
) -> Following | None:
    """The Follow of ours an Accept or Reject answers, if it was sent to its signer."""
    ref = activity.follow_ref()
    if ref is None:
        return None
    local = await group_actor(session)
    query = (
        select(Following)
        .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
        .where(Following.local_actor_id == local.id, RemoteActor.uri == activity.actor)
    )
    if ref.id is not None and ref.id.startswith(node.urls.base + "/"):
        query = query.where(Following.follow_uri == ref.id)
    elif ref.actor != node.urls.actor(local.username):
        return None
    return await session.scalar(query)


async def receive_accept(node: NodeContext, session: AsyncSession, activity: Activity) -> bool:
    row = await _following_answered(node, session, activity)
    if row is None:
        log.info(
            "ignoring Accept %s: it answers no Follow we sent to %s", activity.id, activity.actor
        )
        return False
    if row.state != "accepted":
        row.state, row.accepted_at = "accepted", utcnow()
        row.backfill_due_at, row.backfill_attempts = utcnow(), 0  # node.backfill fetches
    return True


async def receive_reject(node: NodeContext, session: AsyncSession, activity: Activity) -> bool:
    row = await _following_answered(node, session, activity)
    if row is None:
        return False
    await session.delete(row)
    return True


# -- decisions of the node's admins (CLI now, web UI later) --------------------------------


async def _follower_row(
    session: AsyncSession, actor_uri: str
) -> tuple[LocalActor, RemoteActor, Follower]:
    local = await group_actor(session)
    remote = await _remote(session, actor_uri)
    row = None
    if remote is not None:
        row = await _link(session, Follower, local, remote)
    if remote is None or row is None:
        raise FollowError(_("%(actor)s does not follow this node", actor=actor_uri))
    return local, remote, row


async def approve_follower(node: NodeContext, session: AsyncSession, actor_uri: str) -> None:
    local, remote, row = await _follower_row(session, actor_uri)
    if row.state == "accepted":
        raise FollowError(_("%(actor)s is already a follower", actor=actor_uri))
    row.state, row.accepted_at = "accepted", utcnow()
    await _answer(node, session, local, remote, "Accept", row.follow_activity)


async def reject_follower(node: NodeContext, session: AsyncSession, actor_uri: str) -> None:
    """Refuse a pending request, or remove an existing follower (both send Reject)."""
    local, remote, row = await _follower_row(session, actor_uri)
    await _answer(node, session, local, remote, "Reject", row.follow_activity)
    await session.delete(row)


# -- outgoing ---------------------------------------------------------------------------


def unreachable_node(settings: Settings) -> str | None:
    """Why this node cannot follow anyone, if so: on a plain-http address (a
    loopback one, as ``make run`` starts) it can only federate with nodes that
    allow private addresses, such as ``make demo``'s."""
    if settings.https or settings.allow_private_addresses:
        return None
    return _(
        "this node's address, %(url)s, is not a public https address, so the "
        "fediverse cannot reach it and it cannot follow anyone there: set TOCSIN_BASE_URL "
        "to the node's https address, or run `make demo` to try federation on this machine",
        url=settings.base_url,
    )


async def resolve_target(node: NodeContext, target: str) -> RemoteActor:
    """An actor from a handle (``@name@host``) or an actor URL."""
    problem = unreachable_node(node.settings)
    if problem is not None:
        raise FollowError(problem)
    if target.startswith(("https://", "http://")):
        return await node.directory.fetch_actor(target)
    return await node.directory.actor_by_handle(target)


async def follow(node: NodeContext, session: AsyncSession, remote: RemoteActor) -> Following:
    local = await group_actor(session)
    actor_id = node.urls.actor(local.username)
    if remote.uri == actor_id:
        raise FollowError(_("a node cannot follow itself"))
    row = await _link(session, Following, local, remote)
    if row is not None and row.state == "accepted":
        raise FollowError(_("already following %(actor)s", actor=remote.uri))
    follow_id = new_activity_id(node.urls)
    if row is None:
        row = Following(
            local_actor_id=local.id,
            remote_actor_id=remote.id,
            follow_uri=follow_id,
            state="pending",
            relay_urgent=bool(await get_setting(session, "relay_urgent_default")),
        )
        session.add(row)
    else:  # still pending: ask again, under a new id
        row.follow_uri = follow_id
    activity = follow_to_as(activity_id=follow_id, actor=actor_id, target=remote.uri)
    await send_to_actor(node, session, local, remote, activity)
    return row


async def unfollow(node: NodeContext, session: AsyncSession, remote: RemoteActor) -> None:
    local = await group_actor(session)
    row = await _link(session, Following, local, remote)
    if row is None:
        raise FollowError(_("not following %(actor)s", actor=remote.uri))
    activity = undo_follow_to_as(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        follow_id=row.follow_uri,
        target=remote.uri,
    )
    await send_to_actor(node, session, local, remote, activity)
    await session.delete(row)
