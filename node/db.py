"""Engine and sessions.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys; the
same models and migrations (``node.migrate``) serve PostgreSQL in production.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Connections kept open: an overflow connection is closed when given back, and
    # opening one (TLS attempt, authentication) costs more CPU than most requests;
    # a vote storm needs ~20 at once (recording, key fetches, the worker's batch).
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    # No ping at every checkout (asyncpg's costs three round trips, on every
    # request): a connection PostgreSQL dropped fails one statement, SQLAlchemy
    # discards the pool's stale connections, and the next attempt reconnects.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT construct of the session's dialect, for ``ON CONFLICT`` clauses
    (both PostgreSQL and SQLite have them; plain SQL has not)."""
    bind = session.get_bind()
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
