"""The same migrations build the schema on SQLite and PostgreSQL, match the
models exactly, and can be rolled back and replayed."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from node.db import make_engine
from node.migrate import downgrade, migrate
from node.schema import metadata


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(_tables)
        assert set(metadata.tables) <= tables
        assert "alembic_version" in tables
    finally:
        await engine.dispose()


async def test_migrations_roll_back_to_empty_and_replay(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await migrate(engine)
        await downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await migrate(engine)
        await migrate(engine)  # a second run is a no-op
        async with engine.connect() as conn:
            assert set(metadata.tables) <= await conn.run_sync(_tables)
    finally:
        await engine.dispose()
