"""Moving a node to a new domain, as Mastodon moves accounts (docs/moving.md).

On the new node, ``add_alias`` lists the old actor in ``alsoKnownAs``. On the
old node, ``move_to`` checks that the new actor lists it, sets ``movedTo`` and
sends ``Move`` to its followers. A node receiving a ``Move`` from an actor it
follows (``receive_move``) checks the target's ``alsoKnownAs`` itself, follows
the new actor, drops the old one and keeps the old actor's calendar entries
under the new origin.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import Activity, as_list, id_of
from federation.errors import FederationError
from federation.hosts import url_authority
from node.actor_document import ALIASES, MOVED_TO, send_actor_update
from node.ap.activities import move_to_as
from node.content.models import Callout, Event
from node.context import NodeContext
from node.follows import FollowError, follow, resolve_target, unfollow
from node.identity import group_actor
from node.models import Following, RemoteActor
from node.outbox import accepted_followers, enqueue, new_activity_id
from node.settings_store import get_setting, set_setting

log = logging.getLogger(__name__)


class MoveError(ValueError):
    """A move or alias cannot be made; the message says why."""


def also_known_as(actor_doc: dict[str, Any]) -> list[str]:
    return [uri for uri in map(id_of, as_list(actor_doc.get("alsoKnownAs"))) if uri]


async def aliases(session: AsyncSession) -> list[str]:
    value = await get_setting(session, ALIASES, [])
    return [str(uri) for uri in value] if isinstance(value, list) else []


async def _target_uri(node: NodeContext, target: str) -> str:
    """An actor URL as given, or a handle resolved (the actor is fetched)."""
    if target.startswith(("https://", "http://")):
        return target
    try:
        return (await resolve_target(node, target)).uri
    except FederationError as exc:
        raise MoveError(f"{target}: {exc.public_message}") from exc


async def change_alias(node: NodeContext, target: str, *, add: bool) -> str:
    """Add or remove a former actor of this node; followers get an actor Update."""
    uri = await _target_uri(node, target)
    async with node.sessions() as session, session.begin():
        local = await group_actor(session)
        if uri == node.urls.actor(local.username):
            raise MoveError("an actor cannot be its own alias")
        current = await aliases(session)
        if add == (uri in current):
            raise MoveError(f"{uri} is {'already' if add else 'not'} an alias")
        new = [*current, uri] if add else [u for u in current if u != uri]
        await set_setting(session, ALIASES, new)
        await send_actor_update(node, session, local)
    node.wake()
    return uri


async def move_to(node: NodeContext, target: str) -> tuple[str, int]:
    """Move this node to ``target``: checked, ``movedTo`` set, ``Move`` queued.
    Returns the new actor's URL and how many followers are told."""
    uri = await _target_uri(node, target)
    async with node.sessions() as session:
        local = await group_actor(session)
    actor_id = node.urls.actor(local.username)
    try:
        new_actor = await node.directory.fetch(uri)  # fresh, never a cached copy
    except FederationError as exc:
        raise MoveError(f"{uri}: {exc.public_message}") from exc
    if actor_id not in also_known_as(new_actor):
        raise MoveError(
            f"{uri} does not list {actor_id} in alsoKnownAs; run `tocsin alias add "
            f"{actor_id}` on the new node first"
        )
    async with node.sessions() as session, session.begin():
        local = await group_actor(session)
        await set_setting(session, MOVED_TO, uri)
        await send_actor_update(node, session, local)
        followers = await accepted_followers(session, local)
        activity = move_to_as(
            activity_id=new_activity_id(node.urls),
            actor=actor_id,
            target=uri,
            followers=node.urls.followers(local.username),
        )
        await enqueue(session, local, activity, recipients=followers, own_host=node.settings.host)
    node.wake()
    return uri, len(followers)


# -- receiving ---------------------------------------------------------------------------


async def receive_move(node: NodeContext, session: AsyncSession, activity: Activity) -> bool:
    """Follow an actor we follow to its new home, if the new actor confirms it."""
    old, target = activity.actor, id_of(activity.raw.get("target"))
    if activity.object_id != old or not (target or "").startswith(("https://", "http://")):
        log.info("ignoring Move %s: it does not move its own actor to a target", activity.id)
        return False
    local = await group_actor(session)
    following = await session.scalar(
        select(Following)
        .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
        .where(Following.local_actor_id == local.id, RemoteActor.uri == old)
    )
    if following is None:
        log.info("ignoring Move %s: we do not follow %s", activity.id, old)
        return False
    assert target is not None
    try:
        new = await node.directory.fetch_actor(target, session)
    except FederationError as exc:
        log.info("ignoring Move %s: could not fetch %s: %s", activity.id, target, exc)
        return False
    if old not in also_known_as(new.raw):
        log.info("refusing Move %s: %s does not list %s in alsoKnownAs", activity.id, target, old)
        return False
    await _switch_follow(node, session, old, new)
    await rehome_content(session, old, new.uri)
    return True


async def _switch_follow(
    node: NodeContext, session: AsyncSession, old: str, new: RemoteActor
) -> None:
    try:
        await follow(node, session, new)
    except FollowError as exc:  # already following the new actor
        log.info("Move to %s: %s", new.uri, exc)
    old_remote = await session.scalar(select(RemoteActor).where(RemoteActor.uri == old))
    if old_remote is not None:
        await unfollow(node, session, old_remote)


async def rehome_content(session: AsyncSession, old: str, new: str) -> None:
    """The old actor's events and callouts stay in the calendar, under the new origin."""
    for model in (Event, Callout):
        await session.execute(
            update(model)
            .where(model.actor_uri == old, model.local.is_(False))
            .values(actor_uri=new, origin_domain=url_authority(new))
        )
