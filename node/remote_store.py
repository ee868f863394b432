"""How remote actors and their keys are stored: upserts safe under concurrent
requests, built once per dialect, and on PostgreSQL a fetched signer's actor
and key in one statement (a vote storm stores thousands of them)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from federation.actors import Actor
from federation.hosts import url_authority
from federation.keys import load_public_key
from node.db import dialect_insert
from node.models import RemoteActor, RemoteKey


async def upsert_actor(session: AsyncSession, parsed: Actor) -> RemoteActor:
    """Insert-or-update in one statement, safe when two requests store the same
    actor at once; its key (when the document carries one) goes with it."""
    values = _columns(parsed)
    row = await session.scalar(
        dialect_insert(session)(RemoteActor)
        .values(uri=parsed.id, **values)
        .on_conflict_do_update(index_elements=["uri"], set_=values)
        .returning(RemoteActor),
        execution_options={"populate_existing": True},
    )
    if not isinstance(row, RemoteActor):
        raise RuntimeError(f"storing {parsed.id} returned no row")
    if parsed.public_key_id and parsed.public_key_pem:
        await store_key(session, parsed.public_key_id, parsed.id, parsed.public_key_pem)
    return row


_KEY = select(RemoteKey.owner_uri, RemoteKey.public_key_pem).where(
    RemoteKey.key_id == bindparam("key_id")
)


async def cached_key(session: AsyncSession, key_id: str) -> Row[str, str] | None:
    """(owner_uri, public_key_pem) of a stored key, read without the ORM."""
    return (await session.execute(_KEY, {"key_id": key_id})).first()


async def store_signer(engine: AsyncEngine, owner: Actor, key_id: str, pem: str) -> None:
    """A fetched signer's actor and key, with no ORM object made and statements
    built once (only the key is needed). On PostgreSQL in one statement, run in
    autocommit: it is atomic by itself, and BEGIN and COMMIT would be two more
    round trips for each of a vote storm's thousands of new voters."""
    actor = {"uri": owner.id, **_columns(owner)}
    stored = {"key_id": key_id, "owner_uri": owner.id, "public_key_pem": pem}
    stored["fetched_at"] = actor["fetched_at"]
    name = engine.dialect.name
    if name == "postgresql":  # both rows in one statement
        del stored["owner_uri"]  # the CTE's row gives it
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(
                _ACTOR_AND_KEY_PG, actor | {f"k_{k}": v for k, v in stored.items()}
            )
        return
    async with engine.begin() as connection:
        await connection.execute(_upserts(name)[0], actor)
        await connection.execute(_upserts(name)[1], stored)


_ACTOR_COLUMNS = (
    "uri", "domain", "type", "preferred_username", "name", "summary",
    "url", "inbox", "shared_inbox", "raw", "fetched_at",
)  # fmt: skip
_KEY_COLUMNS = ("key_id", "owner_uri", "public_key_pem", "fetched_at")
_KEYS = cast(Table, RemoteKey.__table__)


def _upsert(insert: Any, model: Any, columns: tuple[str, ...], prefix: str = "") -> Any:
    """INSERT … ON CONFLICT (its key) DO UPDATE of ``columns``, values bound by name."""
    statement = insert(model).values({c: bindparam(prefix + c) for c in columns})
    key = columns[0]
    return statement.on_conflict_do_update(
        index_elements=[key], set_={c: statement.excluded[c] for c in columns if c != key}
    )


@cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        _upsert(insert, RemoteActor.__table__, _ACTOR_COLUMNS),
        _upsert(insert, RemoteKey.__table__, _KEY_COLUMNS),
    )


def _actor_and_key_pg() -> Any:
    """The actor's upsert as a CTE, and the key's in the same statement."""
    actor = _upsert(postgresql.insert, RemoteActor.__table__, _ACTOR_COLUMNS).returning(
        RemoteActor.__table__.c.uri
    )
    stored = actor.cte("stored_actor")
    key = postgresql.insert(_KEYS).from_select(
        list(_KEY_COLUMNS),
        select(
            bindparam("k_key_id", type_=RemoteKey.__table__.c.key_id.type),
            stored.c.uri,
            bindparam("k_public_key_pem", type_=RemoteKey.__table__.c.public_key_pem.type),
            bindparam("k_fetched_at", type_=RemoteKey.__table__.c.fetched_at.type),
        ),
    )
    return key.on_conflict_do_update(
        index_elements=["key_id"],
        set_={c: key.excluded[c] for c in _KEY_COLUMNS if c != "key_id"},
    )


_ACTOR_AND_KEY_PG = _actor_and_key_pg()


def _columns(parsed: Actor) -> dict[str, Any]:
    return {
        "domain": url_authority(parsed.id),
        "type": parsed.type,
        "preferred_username": parsed.preferred_username,
        "name": (parsed.name or "")[:500],
        "summary": parsed.summary or "",
        "url": parsed.url,
        "inbox": parsed.inbox,
        "shared_inbox": parsed.shared_inbox,
        "raw": parsed.raw,
        "fetched_at": datetime.now(UTC),
    }


async def store_key(session: AsyncSession, key_id: str, owner: str, pem: str) -> None:
    load_public_key(pem)  # refuse to cache a key we cannot use
    stored = {"key_id": key_id, "owner_uri": owner, "public_key_pem": pem}
    await session.execute(
        _upserts(session.get_bind().dialect.name)[1], stored | {"fetched_at": datetime.now(UTC)}
    )
