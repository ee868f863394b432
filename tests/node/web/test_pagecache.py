"""Kept pages, feeds and actor documents are never stale: a change made by any
process (another web process, the worker, the CLI) shows on the next request,
and time alone (an event ending) changes a page too. Each test first reads the
page, so the process keeps it, then changes the database behind its back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from node.content.models import Event
from node.db import make_engine, make_sessionmaker
from node.models import LocalActor, RemoteActor
from node.users import create_user
from node.web.activitypub import ACTOR_LAG
from node.web.public import item_page
from tests.support.admin import EVENT_FORM as EVENT
from tests.support.admin import PASSWORD, login, post_form
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node, asgi_node
from tests.support.pages import HTML, followed_node, make_event

AS2 = "application/activity+json"


@pytest.fixture
async def other_web(node: Node) -> AsyncIterator[Node]:
    """A second web process of the same node: its own app, engine and memory."""
    async with asgi_node(node.settings) as second:
        yield second


class OtherProcess:
    """Writes as `tocsin worker` or the CLI would: its own engine and connections."""

    def __init__(self, node: Node) -> None:
        self.engine = make_engine(node.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)

    def session(self) -> AsyncSession:
        return self.sessions()


@pytest.fixture
async def worker(node: Node) -> AsyncIterator[OtherProcess]:
    other = OtherProcess(node)
    try:
        yield other
    finally:
        await other.engine.dispose()


def remote_row(actor_uri: str, host: str, title: str, start: datetime, hours: float) -> Event:
    return Event(
        uri=f"https://{host}/events/{abs(hash((title, start)))}",
        url=f"https://{host}/e/{abs(hash(title))}",
        local=False,
        actor_uri=actor_uri,
        origin_domain=host,
        title=title,
        description_html="<p>From afar</p>",
        summary_text="",
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        timezone="Europe/Berlin",
        all_day=False,
        tags=["housing"],
        status="scheduled",
        location_name="Kiezladen",
        location_address="Hauptstr. 1",
    )


async def store_remote_event(
    worker: OtherProcess, actor_uri: str, title: str, *, start: datetime, hours: float = 2
) -> Event:
    host = actor_uri.split("/")[2]
    async with worker.session() as session, session.begin():
        event = remote_row(actor_uri, host, title, start, hours)
        session.add(event)
    return event


async def get_html(node: Node, path: str) -> httpx.Response:
    response = await node.client.get(path, headers=HTML)
    assert response.status_code == 200, path
    return response


async def test_calendar_page_shows_event_added_by_worker_process_immediately(
    node: Node, worker: OtherProcess
) -> None:
    actor = await followed_node(node, "berlin.example", "Mieterverein Berlin")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    await store_remote_event(worker, actor, "Kiezversammlung", start=soon)
    for path in ("/calendar", "/calendar.ics", "/tags/housing"):
        assert "Kiezversammlung" in (await get_html(node, path)).text
        assert "Nachbarschaftsfest" not in (await get_html(node, path)).text
    await store_remote_event(worker, actor, "Nachbarschaftsfest", start=soon + timedelta(hours=1))
    for path in ("/calendar", "/calendar.ics", "/tags/housing"):
        assert "Nachbarschaftsfest" in (await get_html(node, path)).text, path


async def test_admin_edit_in_one_web_process_shows_at_once_in_another(
    node: Node, other_web: Node
) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await create_user(
            session, "rosa", "editor", PASSWORD, must_change=False, hasher=CHEAP_HASHER
        )
    async with httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url) as c:
        assert (await login(c, "rosa", PASSWORD)).status_code == 303
        event = await make_event(node, title="Assembly in the hall")
        event_path = f"/events/{event.uri.rsplit('/', 1)[1]}"
        reads = ("/", "/calendar", event_path, "/events.ics", "/events.atom")
        for path in reads:
            assert "Assembly in the hall" in (await get_html(other_web, path)).text, path
        form = {**EVENT, "title": "Assembly (moved)"}
        saved = await post_form(c, f"/admin/events/{event.id}/edit", **form)
        assert saved.status_code == 303, saved.text
    for path in reads:
        assert "Assembly (moved)" in (await get_html(other_web, path)).text, path


async def test_event_deleted_by_another_process_leaves_the_kept_pages(
    node: Node, worker: OtherProcess
) -> None:
    event = await make_event(node, title="Rent strike meeting")
    assert "Rent strike meeting" in (await get_html(node, "/")).text
    assert "Rent strike meeting" in (await get_html(node, "/calendar")).text
    async with worker.session() as session, session.begin():
        await session.execute(delete(Event).where(Event.id == event.id))
    assert "Rent strike meeting" not in (await get_html(node, "/")).text
    assert "Rent strike meeting" not in (await get_html(node, "/calendar")).text


async def test_profile_edit_by_another_process_reaches_the_actor_json_within_its_stated_lag(
    node: Node, worker: OtherProcess
) -> None:
    path = f"/actors/{node.settings.node_name}"
    first = await node.client.get(path, headers={"Accept": AS2})
    assert first.json()["name"] == node.settings.node_name
    etag = first.headers["etag"]
    again = await node.client.get(path, headers={"Accept": AS2, "If-None-Match": etag})
    assert again.status_code == 304
    async with worker.session() as session, session.begin():
        await session.execute(
            update(LocalActor).where(LocalActor.kind == "group").values(display_name="Haringey")
        )
    assert "Haringey" in (await get_html(node, path)).text  # the page at the id: at once
    await asyncio.sleep(ACTOR_LAG)
    changed = await node.client.get(path, headers={"Accept": AS2, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["name"] == "Haringey"
    assert changed.headers["content-type"].startswith(AS2)
    assert changed.headers["vary"] == "Accept"


async def test_remote_node_renamed_by_the_worker_is_relabelled_at_once(
    node: Node, worker: OtherProcess
) -> None:
    actor = await followed_node(node, "leeds.example", "Leeds Renters")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    event = await store_remote_event(worker, actor, "Leeds assembly", start=start)
    assert "Leeds Renters" in (await get_html(node, "/calendar")).text
    copy = f"/calendar/events/{event.id}"
    assert "Leeds Renters" in (await get_html(node, copy)).text
    async with worker.session() as session, session.begin():
        await session.execute(
            update(RemoteActor).where(RemoteActor.uri == actor).values(name="Leeds Tenants")
        )
    assert "Leeds Tenants" in (await get_html(node, "/calendar")).text
    assert "Leeds Tenants" in (await get_html(node, copy)).text


async def test_unchanged_page_answers_304_to_its_etag_and_200_once_changed(
    node: Node, worker: OtherProcess
) -> None:
    await make_event(node, title="Assembly")
    first = await get_html(node, "/calendar")
    assert first.headers["cache-control"] == "public, no-cache"
    etag = first.headers["etag"]
    same = await node.client.get("/calendar", headers={**HTML, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag
    await make_event(node, title="Second assembly")
    changed = await node.client.get("/calendar", headers={**HTML, "If-None-Match": etag})
    assert changed.status_code == 200 and "Second assembly" in changed.text
    assert changed.headers["etag"] != etag


async def test_event_leaves_the_kept_calendar_when_it_ends_without_any_write(
    node: Node, worker: OtherProcess
) -> None:
    actor = await followed_node(node, "oslo.example", "Oslo Leieboere")
    start = datetime.now(UTC) - timedelta(hours=1)
    await store_remote_event(worker, actor, "Ending now", start=start, hours=1 + 1.5 / 3600)
    assert "Ending now" in (await get_html(node, "/calendar")).text
    await asyncio.sleep(2)
    assert "Ending now" not in (await get_html(node, "/calendar")).text


async def test_long_event_that_began_long_ago_is_still_upcoming(
    node: Node, worker: OtherProcess
) -> None:
    actor = await followed_node(node, "paris.example", "Locataires de Paris")
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(5):
        await store_remote_event(worker, actor, f"Past {n}", start=now - timedelta(days=n + 2))
    await store_remote_event(
        worker, actor, "Occupation", start=now - timedelta(days=400), hours=24 * 410
    )
    calendar = (await get_html(node, "/calendar")).text
    assert "Occupation" in calendar
    assert "Past 1" not in calendar


def html_request(node: Node, path: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"accept", b"text/html")],
        "app": node.app,
    }
    return Request(scope)


async def test_item_page_serves_our_item_by_its_id_and_none_for_an_unknown_one(
    node: Node, worker: OtherProcess
) -> None:
    event = await make_event(node, title="Picket at the depot")
    request = html_request(node, "/events/1")
    page = await item_page(request, Event, event.uri)
    assert page is not None and b"Picket at the depot" in page.body
    assert page.headers["vary"] == "Accept" and page.headers["etag"]
    async with worker.session() as session, session.begin():
        await session.execute(update(Event).where(Event.id == event.id).values(title="Moved"))
    moved = await item_page(request, Event, event.uri)
    assert moved is not None and b"Moved" in moved.body
    assert await item_page(request, Event, f"{event.uri}0") is None
