"""Wake-ups across processes: a commit that queues work wakes every worker.

A worker sleeps up to a second when idle; work committed in its own process
wakes it at once (``NodeContext.wake``), but work committed elsewhere (the CLI,
the web process beside a ``tocsin worker``) used to wait for that second. On
PostgreSQL, a transaction that inserts delivery rows, or received activities
(``notify_work``), also sends ``NOTIFY tocsin_work`` — delivered when it
commits, never if it rolls back — and every node process listens on that
channel with one connection of its own. SQLite is one process; nothing to do
there.

If the listening connection drops, workers fall back to their idle polling.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from node.models import Delivery

log = logging.getLogger(__name__)
CHANNEL = "tocsin_work"


class NotifyingSession(Session):
    """The ORM session of a node process: see :func:`_notify_new_deliveries`."""


@event.listens_for(NotifyingSession, "after_flush")
def _notify_new_deliveries(session: Session, _flush: UOWTransaction) -> None:
    """Inside the flush's transaction, so the notice goes out only with its commit
    (PostgreSQL folds repeats within one transaction into one)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if any(isinstance(obj, Delivery) for obj in session.new):
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


async def notify_work(session: AsyncSession) -> None:
    """Wake the workers of every process when ``session``'s transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))


@asynccontextmanager
async def listening(engine: AsyncEngine, on_work: Callable[[], None]) -> AsyncIterator[None]:
    """Call ``on_work`` whenever another transaction commits new deliveries, while
    the block runs (PostgreSQL; on SQLite a no-op)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None

        def notified(*_: Any) -> None:
            on_work()

        def lost(*_: Any) -> None:
            log.warning("lost the %s listener; workers poll until restarted", CHANNEL)

        await raw.add_listener(CHANNEL, notified)
        raw.add_termination_listener(lost)
        try:
            yield
        finally:
            raw.remove_termination_listener(lost)
            if not raw.is_closed():
                await raw.remove_listener(CHANNEL, notified)
