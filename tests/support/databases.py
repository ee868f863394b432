"""Databases for tests: a SQLite file, or a fresh PostgreSQL database created
next to the one ``TOCSIN_TEST_POSTGRES_URL`` names and dropped after.

``empty_database`` is empty (for the tests of the migrations themselves);
``migrated_database`` is a copy of one migrated once per test process (a
copied file; ``CREATE DATABASE … TEMPLATE``), because running the migrations
for every node a test starts was a large share of the suite's time.

On PostgreSQL, creating and dropping a database each wait on the server's disk
for a good part of a second on a busy machine. So a background thread
(``tests.support.background``) keeps ``SPARE_COPIES`` fresh copies of the template
made ahead of the tests that will take them, and drops the databases tests are
done with while the next tests run. Every test still gets databases nobody else
has used; the tests just do not wait for the server's disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from tests.support.background import Background

POSTGRES_ENV = "TOCSIN_TEST_POSTGRES_URL"
SPARE_COPIES = 3  # a test starts up to three nodes, one database each
_background = Background("test-databases")


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _asyncpg_dsn(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


async def _admin(statement: str) -> None:
    """One statement on the database ``TOCSIN_TEST_POSTGRES_URL`` names."""
    base = postgres_url()
    assert base, f"{POSTGRES_ENV} is not set"
    admin = await asyncpg.connect(_asyncpg_dsn(base, make_url(base).database or "postgres"))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _sqlalchemy_url(name: str) -> str:
    base = postgres_url()
    assert base, f"{POSTGRES_ENV} is not set"
    return (
        make_url(base)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


async def _create(template: str | None = None) -> str:
    """A new PostgreSQL database (a copy of ``template`` when given); its name."""
    base = postgres_url()
    assert base, f"{POSTGRES_ENV} is not set"
    name = f"{make_url(base).database}_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    await _admin(f'CREATE DATABASE "{name}"{copy}')
    return name


def _drop_later(name: str) -> None:
    """Dropped in the background (``drop_templates`` waits for it at the end)."""
    _background.submit(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_spares: list[concurrent.futures.Future[str]] = []  # copies of the template, being made


async def _template_copy(template: str) -> str:
    """A copy of ``template`` made ahead of time (or now, if none is ready), and
    another started for whoever asks next."""
    while len(_spares) <= SPARE_COPIES:
        _spares.append(_background.submit(_create(template)))
    return await asyncio.wrap_future(_spares.pop(0))


@asynccontextmanager
async def _postgres_database(template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database (a copy of ``template`` when given), dropped after."""
    name = await (_template_copy(template) if template else _create())
    try:
        yield _sqlalchemy_url(name)
    finally:
        _drop_later(name)


@asynccontextmanager
async def empty_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of a brand-new, empty database of ``kind``."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    async with _postgres_database() as url:
        yield url


_templates: dict[str, str] = {}  # kind -> migrated SQLite file, or PostgreSQL database name


async def _migrate(url: str) -> None:
    from node.db import make_engine
    from node.migrate import migrate

    engine = make_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def _sqlite_template() -> Path:
    if "sqlite" not in _templates:
        path = Path(tempfile.mkdtemp(prefix="tocsin-test-template-")) / "migrated.sqlite"
        await _migrate(f"sqlite+aiosqlite:///{path}")
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


async def _postgres_template() -> str:
    if "postgres" not in _templates:
        base = postgres_url()
        assert base, f"{POSTGRES_ENV} is not set"
        name = f"{make_url(base).database}_template_{uuid.uuid4().hex[:10]}"
        await _admin(f'CREATE DATABASE "{name}"')
        _templates["postgres"] = name  # before migrating: dropped at the end even if that fails
        await _migrate(_sqlalchemy_url(name))
    return _templates["postgres"]


def _copy_sqlite(template: Path, path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):  # whatever SQLite left beside the file
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{path}{suffix}")


@asynccontextmanager
async def migrated_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield a SQLAlchemy URL of a new database with the schema at its newest revision."""
    if kind == "sqlite":
        template = await _sqlite_template()
        path = tmp_path / f"db-{uuid.uuid4().hex[:8]}.sqlite"
        _copy_sqlite(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with _postgres_database(await _postgres_template()) as url:
        yield url


async def drop_templates() -> None:
    """At the end of the test session: the templates, the spare copies, and every
    drop still under way (a failed one fails the session's last teardown)."""
    sqlite = _templates.pop("sqlite", None)
    if sqlite is not None:
        shutil.rmtree(Path(sqlite).parent, ignore_errors=True)
    errors = await asyncio.to_thread(_background.settle)
    for spare in _spares:
        if spare.exception() is None:
            _drop_later(spare.result())
    _spares.clear()
    errors += await asyncio.to_thread(_background.settle)
    _background.stop()
    name = _templates.pop("postgres", None)
    if name is not None and postgres_url() is not None:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if errors:
        raise errors[0]
