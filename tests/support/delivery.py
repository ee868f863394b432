"""Helpers of the delivery queue tests (tests/e2e/test_delivery_*.py): a remote
server that keeps raw requests and answers from a script, a movable clock, and
queueing and stepping deliveries on a real node."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import uvicorn
from sqlalchemy import func, select, update
from starlette.requests import Request
from starlette.responses import Response

from federation.delivery import DeliveryWorker
from federation.fanout import Recipient
from node.context import NodeContext
from node.delivery_store import SqlDeliveryStore
from node.identity import group_actor
from node.models import (
    Delivery,
    DomainHealth,
    Follower,
    RemoteActor,
)
from node.outbox import enqueue, new_activity_id
from tests.support.fediverse import Account, FakeServer
from tests.support.nodes import Node, eventually

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ServerT = TypeVar("ServerT", bound=FakeServer)
FIRST_BACKOFF = (timedelta(seconds=15), timedelta(seconds=24))  # 0**4 + 15 + rand(10) * 1


# -- a remote server that keeps raw requests and answers from a script -------------------


@dataclass
class Hit:
    path: str
    body: bytes
    content_type: str
    activity_id: str


@dataclass
class RemoteServer(FakeServer):
    """A ``FakeServer`` that also keeps each inbox POST's raw bytes and content type,
    answers the next ``(status, headers)`` from ``answers`` (then ``inbox_status``),
    and can wait ``delay`` seconds per request or skip signature checks (``verify``)."""

    hits: list[Hit] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    verify: bool = True
    delay: float = 0.0

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()  # cached: the verifying handler reads it again
        activity_id = str(json.loads(body).get("id"))
        content_type = request.headers.get("content-type", "")
        self.hits.append(Hit(request.url.path, body, content_type, activity_id))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.verify:
            answer = await super()._inbox(request)
        else:
            answer = Response(status_code=self.inbox_status)
        if self.answers:
            status, headers = self.answers.pop(0)
            return Response(status_code=status, headers=headers)
        return answer


@asynccontextmanager
async def serving(server: ServerT) -> AsyncIterator[ServerT]:
    """Serve ``server`` on its own (possibly re-used) port until the block ends."""
    config = uvicorn.Config(
        server.app(), host=server.host, port=server.port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
                raise RuntimeError("fake server stopped during start-up")
            await asyncio.sleep(0.01)
        yield server
    finally:
        runner.should_exit = True
        await task


# -- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbox:
    """A recipient known only by its inbox (a ``federation.fanout.Recipient``)."""

    inbox: str
    shared_inbox: str | None = None


class Clock:
    """The worker's ``now``, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def later() -> datetime:
    """A ``now`` safely after every row enqueued so far (they are due at enqueue time)."""
    return datetime.now(UTC) + timedelta(minutes=1)


def delivery_worker(
    ctx: NodeContext, clock: Callable[[], datetime] | None = None, *, concurrency: int = 50
) -> DeliveryWorker:
    """A delivery worker on ``ctx`` with its own clock and a seeded jitter."""
    store = SqlDeliveryStore(ctx.sessions, ctx.urls)
    return DeliveryWorker(
        store, ctx.delivery_http, concurrency=concurrency, clock=clock, rng=random.Random(7)
    )


async def publish(
    node: Node,
    recipients: Iterable[Recipient],
    *,
    count: int = 1,
    shared_inboxes: bool = True,
) -> list[str]:
    """Queue ``count`` public Create{Note}s from the Group actor, in one transaction."""
    ctx = node.ctx
    recipients = list(recipients)
    ids = []
    async with ctx.sessions() as session, session.begin():
        actor = await group_actor(session)
        for _ in range(count):
            activity_id = new_activity_id(ctx.urls)
            note = {
                "id": f"{activity_id}/note",
                "type": "Note",
                "attributedTo": node.actor_id,
                "content": "<p>Eviction at 7am: 20 people needed.</p>",
                "to": [PUBLIC],
                "cc": [ctx.urls.followers(actor.username)],
            }
            activity = {
                "id": activity_id,
                "type": "Create",
                "actor": node.actor_id,
                "to": [PUBLIC],
                "cc": [ctx.urls.followers(actor.username)],
                "object": note,
            }
            await enqueue(
                session,
                actor,
                activity,
                recipients=recipients,
                shared_inboxes=shared_inboxes,
                public=True,
                object_uri=note["id"],
                own_host=ctx.settings.host,
            )
            ids.append(activity_id)
    return ids


async def deliveries(node: Node) -> list[Delivery]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def only_delivery(node: Node) -> Delivery:
    rows = await deliveries(node)
    assert len(rows) == 1, rows
    return rows[0]


async def health(node: Node, domain: str) -> DomainHealth | None:
    async with node.ctx.sessions() as session:
        return await session.get(DomainHealth, domain)


async def make_due(node: Node, ids: Iterable[int], when: datetime) -> None:
    """Time passes: these deliveries' next attempt has come."""
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(Delivery).where(Delivery.id.in_(list(ids))).values(next_attempt_at=when)
        )


async def count(node: Node, model: type[Follower] | type[RemoteActor]) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count(model.id))) or 0)


async def follow_node(node: Node, account: Account) -> None:
    """``account`` follows the node, and the Accept to its inbox is delivered."""
    queued = len(await deliveries(node))
    follow = account.follow(node.actor_id)
    assert (await account.post(f"{node.actor_id}/inbox", follow)).status_code == 202

    async def accept_queued() -> bool:  # the inbox processes the Follow after its 202
        return len(await deliveries(node)) == queued + 1

    await eventually(accept_queued)
    assert await delivery_worker(node.ctx, Clock(later())).run_once() == 1
