from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.databases import (
    drop_templates,
    empty_database,
    migrated_database,
    postgres_url,
)

DATABASES = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                postgres_url() is None, reason="TOCSIN_TEST_POSTGRES_URL is not set"
            ),
        ],
    ),
]


@pytest.fixture(params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
async def database_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, on SQLite and (when configured) on PostgreSQL."""
    async with empty_database(db_kind, tmp_path) as url:
        yield url


@pytest.fixture
async def migrated_database_url(db_kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database with the newest schema (a copy of one migrated once per session)."""
    async with migrated_database(db_kind, tmp_path) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _drop_database_templates() -> Iterator[None]:
    yield
    asyncio.run(drop_templates())
