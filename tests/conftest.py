from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import node.inbound
import node.worker
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


@pytest.fixture(autouse=True)
def _no_batching_pauses(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy node waits a moment to work in full batches (``node.inbound.GATHER``)
    and holds back its periodic jobs (``node.worker.JOBS_WHILE_BUSY``). A test's
    node is never busy in that sense, so the pauses would only add waiting to
    every test that sends activities one after another; the tests of the pauses
    are marked ``batching_pauses`` and keep them."""
    if request.node.get_closest_marker("batching_pauses") is None:
        monkeypatch.setattr(node.inbound, "GATHER", 0.0)
        monkeypatch.setattr(node.worker, "JOBS_WHILE_BUSY", 0.0)


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
