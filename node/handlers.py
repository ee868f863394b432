"""What each incoming activity type means for this node.

Registered on ``node.inbound.router``; importing this module installs them.
Each handler runs inside the transaction that marks the activity processed.
"""

from __future__ import annotations

import logging

from federation.actors import parse_actor
from federation.as2 import ACTOR_TYPES, Activity
from node import follows
from node.content import receive
from node.inbound import Inbound, router

log = logging.getLogger(__name__)


@router.on("Follow")
async def on_follow(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_follow(inbound.node, inbound.session, activity)


@router.on("Undo")
async def on_undo(activity: Activity, inbound: Inbound) -> None:
    node, session = inbound.node, inbound.session
    if activity.object_type in (None, "Follow") and await follows.receive_undo_follow(
        node, session, activity
    ):
        return
    if activity.object_type == "Announce" and await receive.receive_undo_announce(
        node, session, activity
    ):
        return
    log.info("ignoring Undo %s of %s", activity.id, activity.object_id)


@router.on("Accept")
async def on_accept(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_accept(inbound.node, inbound.session, activity)


@router.on("Reject")
async def on_reject(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_reject(inbound.node, inbound.session, activity)


@router.on("Create")
async def on_create(activity: Activity, inbound: Inbound) -> None:
    await receive.receive_create(inbound.node, inbound.session, activity)


@router.on("Update")
async def on_update(activity: Activity, inbound: Inbound) -> None:
    if activity.object is not None and activity.object_type in ACTOR_TYPES:
        # check_activity_origin has ensured an actor updates only itself
        await inbound.node.directory.store_actor(parse_actor(activity.object), inbound.session)
        return
    await receive.receive_update(inbound.node, inbound.session, activity)


@router.on("Delete")
async def on_delete(activity: Activity, inbound: Inbound) -> None:
    if activity.object_id == activity.actor:
        await receive.forget_remote_content(inbound.session, activity.actor)
        await inbound.node.directory.forget_actor(activity.actor, inbound.session)
        return
    await receive.receive_delete(inbound.node, inbound.session, activity)


@router.on("Announce")
async def on_announce(activity: Activity, inbound: Inbound) -> None:
    await receive.receive_announce(inbound.node, inbound.session, activity)


@router.on("Join")
async def on_join(activity: Activity, inbound: Inbound) -> None:
    await receive.answer_join(inbound.node, inbound.session, activity)
