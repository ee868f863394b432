"""What each incoming activity type means for this node.

``HANDLERS`` is the one list of them; ``build_router()`` hands it to the
processor (``node.runtime``). Each handler runs inside the transaction that
marks the activity processed; a type with no handler is recorded as ignored.
``prepare_batch``, ``handler_context`` and ``finish_batch`` frame a batch of
handlers sharing one transaction (the objects its activities name are looked
up together at its start; callout votes are dispatched once and alerts for
received content queued together, at its end; the followed check reads once).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.actors import parse_actor
from federation.as2 import ACTOR_TYPES, Activity
from federation.inbox import ActivityRouter, Handler
from node import follows, moves
from node.alerts.queue import batch_received_alerts, queue_batched_alerts
from node.content import receive
from node.content.callouts import batch_dispatch, dispatch_batch
from node.content.followed import batch_follows, forget_follows
from node.content.held import object_uris, prefetch
from node.context import Inbound, NodeContext

log = logging.getLogger(__name__)


async def on_follow(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_follow(inbound.node, inbound.session, activity)


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


async def on_accept(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_accept(inbound.node, inbound.session, activity)


async def on_reject(activity: Activity, inbound: Inbound) -> None:
    await follows.receive_reject(inbound.node, inbound.session, activity)


async def on_create(activity: Activity, inbound: Inbound) -> None:
    await receive.receive_create(inbound.node, inbound.session, activity)


async def on_update(activity: Activity, inbound: Inbound) -> None:
    if activity.object is not None and activity.object_type in ACTOR_TYPES:
        # check_activity_origin has ensured an actor updates only itself
        await inbound.node.directory.store_actor(parse_actor(activity.object), inbound.session)
        forget_follows(inbound.session)
        return
    await receive.receive_update(inbound.node, inbound.session, activity)


async def on_delete(activity: Activity, inbound: Inbound) -> None:
    if activity.object_id == activity.actor:
        await receive.forget_remote_content(inbound.session, activity.actor)
        await inbound.node.directory.forget_actor(activity.actor, inbound.session)
        forget_follows(inbound.session)
        return
    await receive.receive_delete(inbound.node, inbound.session, activity)


async def on_announce(activity: Activity, inbound: Inbound) -> None:
    await receive.receive_announce(inbound.node, inbound.session, activity)


async def on_join(activity: Activity, inbound: Inbound) -> None:
    await receive.answer_join(inbound.node, inbound.session, activity)


async def on_move(activity: Activity, inbound: Inbound) -> None:
    await moves.receive_move(inbound.node, inbound.session, activity)


HANDLERS: dict[str, Handler[Inbound]] = {
    "Follow": on_follow,
    "Undo": on_undo,
    "Accept": on_accept,
    "Reject": on_reject,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Announce": on_announce,
    "Join": on_join,
    "Move": on_move,
}


async def prepare_batch(session: AsyncSession, payloads: list[dict[str, Any]]) -> None:
    """The first step of a batch's transaction: whether the node holds each object
    its activities carry or name, in one query (``node.content.held``)."""
    await prefetch(session, object_uris(payloads))


def handler_context(node: NodeContext, session: AsyncSession) -> Inbound:
    """What each handler of a batch sharing ``session`` gets; votes wait for
    ``finish_batch`` to be dispatched once per callout; the followed check reads
    the follows once (``node.content.followed``); alerts for received callouts
    and events are queued together at the end."""
    batch_dispatch(session)
    batch_follows(session)
    batch_received_alerts(session)
    return Inbound(node, session)


async def finish_batch(node: NodeContext, session: AsyncSession) -> None:
    """The last step of a batch's transaction, after its handlers, before its commit."""
    await queue_batched_alerts(session)
    await dispatch_batch(node, session)


# handlers that may change what we follow: the batch's followed check reads again after them
CHANGE_FOLLOWS = frozenset({"Follow", "Undo", "Accept", "Reject", "Move"})


def _forgetting_follows(handler: Handler[Inbound]) -> Handler[Inbound]:
    async def handle(activity: Activity, inbound: Inbound) -> None:
        try:
            await handler(activity, inbound)
        finally:
            forget_follows(inbound.session)

    return handle


def build_router() -> ActivityRouter[Inbound]:
    router: ActivityRouter[Inbound] = ActivityRouter()
    for activity_type, handler in HANDLERS.items():
        if activity_type in CHANGE_FOLLOWS:
            handler = _forgetting_follows(handler)
        router.on(activity_type)(handler)
    return router
