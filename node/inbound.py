"""Received activities: recorded before the 202, processed after it.

``record`` runs in the inbox request: one INSERT that does nothing when the
activity id was seen before (replays have no second effect). ``InboundProcessor``
claims recorded rows with a lease and runs the handler of each in the same
transaction that marks it done, so an activity is processed exactly once even
across crashes: a row whose lease ran out is simply claimed again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import parse_activity
from federation.errors import FederationError
from federation.inbox import ActivityRouter, VerifiedActivity
from node.db import dialect_insert
from node.models import InboundActivity

if TYPE_CHECKING:
    from node.web.context import NodeContext

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


@dataclass
class Inbound:
    """What a handler gets besides the activity: the node, and the transaction to use."""

    node: NodeContext
    session: AsyncSession


router: ActivityRouter[Inbound] = ActivityRouter()


async def record(session: AsyncSession, verified: VerifiedActivity) -> int | None:
    """Store a verified activity; returns its row id, or None for a replay."""
    activity = verified.activity
    values: dict[str, Any] = {
        "uri": activity.id,
        "type": activity.type,
        "actor_uri": activity.actor,
        "payload": activity.raw,
        "state": "pending",
        "attempts": 0,
        "received_at": datetime.now(UTC),
    }
    statement = (
        dialect_insert(session)(InboundActivity)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["uri"])
        .returning(InboundActivity.id)
    )
    return await session.scalar(statement)


class InboundProcessor:
    def __init__(self, node: NodeContext) -> None:
        self.node = node

    async def claim(self, *, limit: int, only_id: int | None = None) -> list[int]:
        now = datetime.now(UTC)
        due = (
            select(InboundActivity.id)
            .where(
                InboundActivity.state == "pending",
                or_(InboundActivity.locked_until.is_(None), InboundActivity.locked_until < now),
            )
            .order_by(InboundActivity.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if only_id is not None:
            due = due.where(InboundActivity.id == only_id)
        async with self.node.sessions() as session, session.begin():
            result = await session.execute(
                update(InboundActivity)
                .where(InboundActivity.id.in_(due.scalar_subquery()))
                .values(locked_until=now + LEASE, attempts=InboundActivity.attempts + 1)
                .returning(InboundActivity.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(row[0] for row in result.all())

    async def run_once(self, limit: int = 100) -> int:
        ids = await self.claim(limit=limit)
        for row_id in ids:
            await self.process(row_id)
        return len(ids)

    async def process_now(self, row_id: int) -> None:
        """Process one just-recorded activity right away (the worker is the safety net)."""
        if await self.claim(limit=1, only_id=row_id):
            await self.process(row_id)

    async def process(self, row_id: int) -> None:
        try:
            async with self.node.sessions() as session, session.begin():
                row = await session.get(InboundActivity, row_id)
                assert row is not None
                activity = parse_activity(row.payload)
                handled = await router.dispatch(activity, Inbound(self.node, session))
                row.state = "done" if handled else "ignored"
                row.processed_at, row.locked_until, row.error = datetime.now(UTC), None, None
        except Exception as exc:
            await self._failed(row_id, exc)
            return
        self.node.wake()

    async def _failed(self, row_id: int, exc: Exception) -> None:
        expected = isinstance(exc, FederationError)
        log.log(
            logging.INFO if expected else logging.ERROR,
            "processing inbound activity %s failed: %s",
            row_id,
            exc,
            exc_info=not expected,
        )
        async with self.node.sessions() as session, session.begin():
            row = await session.get(InboundActivity, row_id)
            if row is None:
                return
            row.error = f"{type(exc).__name__}: {exc}"[:1000]
            if row.attempts >= MAX_ATTEMPTS:
                row.state, row.locked_until = "failed", None
            else:  # retry after a growing pause
                row.locked_until = datetime.now(UTC) + timedelta(seconds=30 * 2**row.attempts)
