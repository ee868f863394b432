"""The change counters the triggers of migration 0005 keep, the shared reads of
them (``ChangeWatch``), and the memory that keeps rendered responses
(``PageCache``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from node.content.changes import ChangeWatch, Counters
from node.db import make_engine
from node.migrate import migrate
from node.web.pagecache import PageCache, Rendered

NOW = datetime(2026, 11, 25, 10)  # naive: both drivers store it as UTC


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = make_engine(database_url)
    await migrate(made)
    try:
        yield made
    finally:
        await made.dispose()


async def counters(engine: AsyncEngine) -> Counters:
    read = await ChangeWatch(engine).read()
    assert read is not None
    return read


Statement = tuple[str, dict[str, object]]


async def run(engine: AsyncEngine, *statements: Statement | str) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            sql, params = (statement, {}) if isinstance(statement, str) else statement
            await conn.execute(text(sql), {"now": NOW, **params})


INSERT_EVENT = (
    "INSERT INTO events (uri, local, actor_uri, origin_domain, url, published_at, "
    "updated_at, location_name, location_address, title, description_md, "
    "description_html, summary_text, starts_at, ends_at, timezone, all_day, tags, status) "
    "VALUES (:uri, false, 'https://a.example/actor', 'a.example', :uri, :now, :now, "
    "'', '', 'E', '', '', '', :start, :end, 'UTC', false, '[]', 'scheduled')"
)


def _event_values(n: int, start: str, end: str) -> Statement:
    uri = f"https://a.example/e/{n}"
    parse = datetime.fromisoformat
    return INSERT_EVENT, {"uri": uri, "start": parse(start), "end": parse(end)}


WRITES: dict[str, Statement | str] = {
    "local_actors": "UPDATE local_actors SET summary = 'changed'",
    "remote_actors": (
        "INSERT INTO remote_actors (uri, domain, type, preferred_username, name, summary, "
        "inbox, raw, fetched_at) VALUES ('https://a.example/actor', 'a.example', 'Group', "
        "'network', 'A', '', 'https://a.example/inbox', '{}', :now)"
    ),
    "tombstones": (
        "INSERT INTO tombstones (uri, former_type, deleted_at) "
        "VALUES ('https://a.example/e/9', 'Event', :now)"
    ),
    "events (insert)": _event_values(1, "2026-12-01 10:00:00", "2026-12-01 12:00:00"),
    "events (update)": "UPDATE events SET title = 'Changed'",
    "events (delete)": "DELETE FROM events",
}


async def test_every_public_write_raises_content_and_only_own_actors_raise_actors(
    engine: AsyncEngine,
) -> None:
    await run(
        engine,
        "INSERT INTO local_actors (username, kind, display_name, summary, region, "
        "manually_approves_followers, private_key_pem, public_key_pem, created_at, updated_at) "
        "VALUES ('network', 'group', 'N', '', '', false, 'k', 'k', :now, :now)",
    )
    for name, statement in WRITES.items():
        before = await counters(engine)
        await run(engine, statement)
        after = await counters(engine)
        assert after.content > before.content, name
        assert (after.actors > before.actors) == (name == "local_actors"), name


async def test_longest_event_covers_every_stored_and_moved_event_and_never_shrinks(
    engine: AsyncEngine,
) -> None:
    assert (await counters(engine)).longest_event == timedelta(0)
    await run(engine, _event_values(1, "2026-12-01 10:00:00", "2026-12-01 12:00:00"))
    assert (
        timedelta(hours=2)
        <= (await counters(engine)).longest_event
        <= timedelta(hours=2, seconds=1)
    )
    await run(engine, ("UPDATE events SET ends_at = :end", {"end": datetime(2026, 12, 11, 10)}))
    assert (await counters(engine)).longest_event >= timedelta(days=10)
    await run(engine, "DELETE FROM events")
    assert (await counters(engine)).longest_event >= timedelta(days=10)


async def test_rolled_back_write_leaves_the_counters_alone(engine: AsyncEngine) -> None:
    before = await counters(engine)
    async with engine.connect() as conn:
        await conn.execute(
            text(INSERT_EVENT),
            {"now": NOW, **_event_values(1, "2026-12-01 10:00:00", "2026-12-01 12:00:00")[1]},
        )
        await conn.rollback()
    assert await counters(engine) == before


async def test_a_write_after_a_rolled_back_savepoint_still_raises_the_counters(
    engine: AsyncEngine, db_kind: str
) -> None:
    if db_kind == "sqlite":
        pytest.skip("pysqlite does not run SAVEPOINTs itself; the triggers count every row there")
    before = await counters(engine)
    async with engine.begin() as conn:
        savepoint = await conn.begin_nested()
        await conn.execute(
            text(INSERT_EVENT),
            {"now": NOW, **_event_values(1, "2026-12-01 10:00:00", "2026-12-02 10:00:00")[1]},
        )
        await savepoint.rollback()
        await conn.execute(
            text(INSERT_EVENT),
            {"now": NOW, **_event_values(2, "2026-12-01 10:00:00", "2026-12-01 11:00:00")[1]},
        )
        await conn.execute(
            text(INSERT_EVENT),
            {"now": NOW, **_event_values(3, "2026-12-01 10:00:00", "2026-12-01 13:00:00")[1]},
        )
    after = await counters(engine)
    assert after.content > before.content
    assert timedelta(hours=3) <= after.longest_event < timedelta(days=1)


class GatedWatch(ChangeWatch):
    """A watch whose reads are held after the query until the test lets them go."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.gate = asyncio.Event()
        self.queried = asyncio.Event()
        self.queries = 0

    async def _read(self, fetch: Callable[[], Awaitable[Sequence[Any]]]) -> Counters | None:
        found = await super()._read(fetch)
        self.queries += 1
        self.queried.set()
        await self.gate.wait()
        return found


async def test_change_watch_never_answers_with_a_read_sent_before_the_call(
    engine: AsyncEngine,
) -> None:
    watch = GatedWatch(engine)
    early = asyncio.create_task(watch.read())
    await watch.queried.wait()  # the first read has seen the database
    await run(engine, _event_values(1, "2026-12-01 10:00:00", "2026-12-01 12:00:00"))
    late = [asyncio.create_task(watch.read()) for _ in range(5)]
    await asyncio.sleep(0)
    watch.gate.set()
    first, *after = await asyncio.gather(early, *late)
    assert first is not None
    assert all(read is not None and read.content > first.content for read in after)
    assert watch.queries == 2  # the five late callers shared one read


async def test_a_read_allowed_to_lag_reuses_a_recent_read_and_a_strict_one_never_does(
    engine: AsyncEngine,
) -> None:
    watch = GatedWatch(engine)
    watch.gate.set()
    first = await watch.read()
    await run(engine, _event_values(1, "2026-12-01 10:00:00", "2026-12-01 12:00:00"))
    assert await watch.read(max_lag=3600) == first
    assert watch.queries == 1
    strict = await watch.read()
    assert strict is not None and first is not None and strict.content > first.content
    assert watch.queries == 2


def _page(body: str, expires: datetime | None = None) -> Rendered:
    return Rendered(body.encode(), "text/plain", expires=expires)


class Renders:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> Rendered:
        self.count += 1
        await asyncio.sleep(0.01)
        return _page(f"render {self.count}")


async def test_concurrent_misses_render_once_and_later_hits_render_nothing() -> None:
    cache, renders = PageCache(), Renders()
    pages = await asyncio.gather(*(cache.get("home", 1, renders) for _ in range(10)))
    assert renders.count == 1 and {p.body for p in pages} == {b"render 1"}
    assert (await cache.get("home", 1, renders)).body == b"render 1"
    assert renders.count == 1


async def test_a_new_version_renders_again() -> None:
    cache, renders = PageCache(), Renders()
    await cache.get("home", 1, renders)
    assert (await cache.get("home", 2, renders)).body == b"render 2"
    assert (await cache.get("other", 2, renders)).body == b"render 3"


async def test_a_page_is_rendered_again_once_time_alone_changes_it() -> None:
    cache = PageCache()

    async def ends_now() -> Rendered:
        return _page("old", expires=datetime.now(UTC) - timedelta(seconds=1))

    async def fresh() -> Rendered:
        return _page("new")

    await cache.get("calendar", 1, ends_now)
    assert (await cache.get("calendar", 1, fresh)).body == b"new"


async def test_kept_bytes_stay_within_the_budget_least_recently_used_going_first() -> None:
    cache = PageCache(budget=25)
    for key in ("a", "b", "c"):
        await cache.get(key, 1, lambda k=key: _async_page(k * 10))
    assert cache.size == 20 and len(cache) == 2
    assert (await cache.get("b", 1, lambda: _async_page("new"))).body == b"b" * 10
    assert (await cache.get("a", 1, lambda: _async_page("new"))).body == b"new"


async def _async_page(body: str) -> Rendered:
    return _page(body)


async def test_a_failed_render_is_not_kept() -> None:
    cache = PageCache()

    async def broken() -> Rendered:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await cache.get("home", 1, broken)
    assert len(cache) == 0
    assert (await cache.get("home", 1, lambda: _async_page("ok"))).body == b"ok"
