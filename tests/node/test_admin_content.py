"""The admin pages for events and callouts: forms that validate on the server and
keep what was typed, changes that federate (Create/Update/Delete queued) and are
audited, confirmation before cancelling or deleting, 404 pages, and the
responses to a callout for organisers only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from node.content.models import Callout, CalloutResponse, Event, Tombstone
from node.identity import group_actor
from node.models import AuditEntry, Delivery, Follower, OutboundActivity, RemoteActor
from node.users import create_user
from tests.support.admin import csrf_of, login, post_form
from tests.support.nodes import Node

PASSWORD = "editor password 1"
FUTURE = (datetime.now(UTC) + timedelta(days=30)).date()
DAY = FUTURE.isoformat()
EVENT = {
    "title": "Tenants' assembly",
    "start": f"{DAY}T19:00",
    "end": f"{DAY}T21:00",
    "timezone": "Europe/London",
    "location": "Town Hall",
    "address": "1 High St",
    "latitude": "51.5",
    "longitude": "-0.1",
    "online_url": "https://meet.example/assembly",
    "tags": "housing, #Meeting",
    "description": "Bring *everyone*.",
}
CALLOUT = {
    "title": "Eviction at 7am",
    "needed": "People at the door",
    "people": "20",
    "until": f"{DAY}T09:00",
    "urgency": "urgent",
    "location": "12 Elm Road",
    "address": "",
    "contact": "Signal 07700 900000",
    "start": "",
    "timezone": "Europe/London",
    "latitude": "",
    "longitude": "",
    "online_url": "",
}


@asynccontextmanager
async def _client(node: Node, username: str, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh browser, logged in as a new user with ``role``."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False)
    async with httpx.AsyncClient(transport=node.client._transport, base_url=node.base_url) as c:
        assert (await login(c, username, PASSWORD)).status_code == 303
        yield c


@pytest.fixture
async def editor(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in editor: these pages are for editors as much as admins."""
    async with _client(node, "rosa", "editor") as client:
        yield client


async def _one(node: Node, query: Any) -> Any:
    async with node.ctx.sessions() as session:
        return await session.scalar(query)


async def _all(node: Node, query: Any) -> list[Any]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(query)).all())


async def _outbound(node: Node) -> list[tuple[str, str | None]]:
    rows = await _all(node, select(OutboundActivity).order_by(OutboundActivity.id))
    return [(row.type, row.object_uri) for row in rows]


async def _audit(node: Node) -> list[tuple[str, str, str]]:
    rows = await _all(node, select(AuditEntry).order_by(AuditEntry.id))
    return [(e.username, e.action, e.target) for e in rows if e.action != "login"]


async def _add_follower(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        remote = RemoteActor(
            uri="https://social.example/users/ann",
            domain="social.example",
            type="Person",
            preferred_username="ann",
            name="Ann",
            inbox="https://social.example/users/ann/inbox",
            shared_inbox="https://social.example/inbox",
            raw={},
        )
        session.add(remote)
        await session.flush()
        session.add(
            Follower(
                local_actor_id=(await group_actor(session)).id,
                remote_actor_id=remote.id,
                follow_uri="https://social.example/follows/1",
                follow_activity={},
                state="accepted",
            )
        )


def _field_error(html: str, field: str) -> str:
    """The message shown beside ``field``, checking the input points at it."""
    tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{field}"[^>]*>', html)
    assert tag, f"no input {field}"
    assert 'aria-invalid="true"' in tag.group(0)
    assert f"{field}-error" in tag.group(0)
    message = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', html)
    assert message, f"no message beside {field}"
    return unescape(message.group(1))


def _value(html: str, field: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html)
    assert tag
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return unescape(value.group(1)) if value else ""


# -- events ----------------------------------------------------------------------------


async def test_event_from_the_form_is_stored_federated_and_audited(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await _add_follower(node)
    response = await post_form(editor, "/admin/events/new", **EVENT)
    assert response.status_code == 303
    event = await _one(node, select(Event))
    assert response.headers["location"] == f"/admin/events?done=created#event-{event.id}"
    assert event.title == "Tenants' assembly" and event.local and event.status == "scheduled"
    assert event.timezone == "Europe/London" and not event.all_day
    assert event.starts_at < event.ends_at and event.starts_at.tzinfo is not None
    assert event.tags == ["housing", "meeting"]
    assert (event.latitude, event.longitude) == (51.5, -0.1)
    assert "<em>everyone</em>" in event.description_html
    assert await _outbound(node) == [("Create", event.uri)]
    inboxes = await _all(node, select(Delivery.inbox_url))
    assert inboxes == ["https://social.example/inbox"]
    assert await _audit(node) == [("rosa", "event.create", f'{event.uri} "{event.title}"')]
    listing = await editor.get(response.headers["location"])
    assert "Event published" in listing.text and "Tenants&#39; assembly" in listing.text


async def test_event_edit_form_shows_stored_values_and_saves_changes(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT)
    event = await _one(node, select(Event))
    page = await editor.get(f"/admin/events/{event.id}/edit")
    assert page.status_code == 200
    assert _value(page.text, "start") == f"{DAY}T19:00"
    assert _value(page.text, "tags") == "housing, meeting"
    assert _value(page.text, "timezone") == "Europe/London"
    assert "Bring *everyone*.</textarea>" in page.text
    changed = {**EVENT, "title": "Assembly (moved)", "end": f"{DAY}T22:00"}
    response = await post_form(editor, f"/admin/events/{event.id}/edit", **changed)
    assert response.headers["location"] == f"/admin/events?done=updated#event-{event.id}"
    updated = await _one(node, select(Event))
    assert updated.title == "Assembly (moved)"
    assert updated.ends_at - updated.starts_at == timedelta(hours=3)
    assert [kind for kind, _ in await _outbound(node)] == ["Create", "Update"]
    assert [a for _, a, _ in await _audit(node)] == ["event.create", "event.update"]


async def test_all_day_event_keeps_its_dates_through_the_edit_form(
    node: Node, editor: httpx.AsyncClient
) -> None:
    last = (FUTURE + timedelta(days=1)).isoformat()
    form = {**EVENT, "all_day": "1", "start": f"{DAY}T00:00", "end": f"{last}T00:00"}
    await post_form(editor, "/admin/events/new", **form)
    event = await _one(node, select(Event))
    assert event.all_day and event.ends_at - event.starts_at == timedelta(days=2)
    page = await editor.get(f"/admin/events/{event.id}/edit")
    assert _value(page.text, "end") == f"{last}T00:00"
    assert re.search(r'id="all_day"[^>]*checked', page.text)


async def test_cancel_asks_first_then_federates_an_update(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT)
    event = await _one(node, select(Event))
    confirm = await editor.get(f"/admin/events/{event.id}/cancel")
    assert confirm.status_code == 200 and "Cancel this event?" in confirm.text
    assert (await _one(node, select(Event.status))) == "scheduled"  # a GET changes nothing
    response = await editor.post(
        f"/admin/events/{event.id}/cancel", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert response.headers["location"] == f"/admin/events?done=cancelled#event-{event.id}"
    assert (await _one(node, select(Event.status))) == "cancelled"
    assert [kind for kind, _ in await _outbound(node)] == ["Create", "Update"]
    again = await editor.post(
        f"/admin/events/{event.id}/cancel", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert again.status_code == 409 and "already cancelled" in again.text
    assert [a for _, a, _ in await _audit(node)] == ["event.create", "event.cancel"]


async def test_delete_asks_first_then_leaves_a_tombstone_and_a_delete(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT)
    event = await _one(node, select(Event))
    page = f"/admin/events/{event.id}/delete"
    confirm = await editor.get(page)
    assert "Delete this event?" in confirm.text and "cannot be undone" in confirm.text
    response = await post_form(editor, page)
    assert response.headers["location"] == "/admin/events?done=deleted"
    assert await _one(node, select(func.count()).select_from(Event)) == 0
    assert await _one(node, select(Tombstone.uri)) == event.uri
    assert await _outbound(node) == [("Create", event.uri), ("Delete", event.uri)]
    assert await _audit(node) == [
        ("rosa", "event.create", f'{event.uri} "{event.title}"'),
        ("rosa", "event.delete", f'{event.uri} "{event.title}"'),
    ]
    assert (await editor.get(f"/admin/events/{event.id}/edit")).status_code == 404


EVENT_MISTAKES = [
    ({"end": f"{DAY}T18:00"}, "end", "End must be after the start."),
    ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone 'Mars/Olympus'"),
    ({"title": "  "}, "title", "Title is required."),
    ({"title": "x" * 201}, "title", "Title is 201 characters long; the limit is 200."),
    ({"location": "y" * 301}, "location", "the limit is 300"),
    ({"description": "z" * 20_001}, "description", "the limit is 20000"),
    ({"latitude": "north"}, "latitude", "is not a number"),
    ({"online_url": "javascript:alert(1)"}, "online_url", "must be a web address"),
    ({"tags": "ok, not a tag!"}, "tags", "is not a tag"),
    ({"start": "soon"}, "start", "is not a date and time"),
]


async def test_invalid_event_is_shown_again_with_the_message_and_nothing_stored(
    node: Node, editor: httpx.AsyncClient
) -> None:
    for changes, field, message in EVENT_MISTAKES:
        response = await post_form(editor, "/admin/events/new", **{**EVENT, **changes})
        assert response.status_code == 400, changes
        assert message in _field_error(response.text, field), changes
        assert "Nothing was saved" in response.text
        kept = "title" if field != "title" else "address"
        assert _value(response.text, kept) == EVENT[kept]  # what was typed is kept
    assert await _one(node, select(func.count()).select_from(Event)) == 0
    assert await _outbound(node) == [] and await _audit(node) == []


async def test_invalid_edit_changes_nothing(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/events/new", **EVENT)
    event = await _one(node, select(Event))
    bad = {**EVENT, "title": "New title", "end": f"{DAY}T10:00"}
    response = await post_form(editor, f"/admin/events/{event.id}/edit", **bad)
    assert response.status_code == 400
    assert _value(response.text, "title") == "New title"
    assert "must be after the start" in _field_error(response.text, "end")
    assert (await _one(node, select(Event.title))) == EVENT["title"]
    assert len(await _outbound(node)) == 1 and len(await _audit(node)) == 1


async def test_unknown_ids_get_a_404_page(editor: httpx.AsyncClient) -> None:
    token = csrf_of((await editor.get("/admin/events/new")).text)
    for method, path in [
        ("GET", "/admin/events/999/edit"),
        ("POST", "/admin/events/999/edit"),
        ("GET", "/admin/events/999/cancel"),
        ("POST", "/admin/events/999/delete"),
        ("GET", "/admin/events/nope/edit"),
        ("GET", "/admin/events/99999999999999999999999/edit"),
        ("GET", "/admin/callouts/999/edit"),
        ("POST", "/admin/callouts/999/close"),
        ("POST", "/admin/callouts/999/delete"),
        ("GET", "/admin/callouts/999/responses"),
    ]:
        data = {"csrf_token": token, **EVENT} if method == "POST" else None
        response = await editor.request(method, path, data=data)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text and "/admin/" in response.text


async def test_logged_out_post_goes_to_the_login_form(node: Node) -> None:
    response = await node.client.post("/admin/events/new", data=EVENT)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/events/new"
    assert (await node.client.get("/admin/callouts")).status_code == 303
    assert await _one(node, select(func.count()).select_from(Event)) == 0


async def test_post_without_csrf_token_is_refused(node: Node, editor: httpx.AsyncClient) -> None:
    assert (await editor.post("/admin/events/new", data=EVENT)).status_code == 403
    forged = {**CALLOUT, "csrf_token": "forged"}
    assert (await editor.post("/admin/callouts/new", data=forged)).status_code == 403
    assert await _one(node, select(func.count()).select_from(Event)) == 0
    assert await _one(node, select(func.count()).select_from(Callout)) == 0


# -- callouts --------------------------------------------------------------------------


async def test_callout_form_is_one_short_screen_with_more_fields_folded(
    editor: httpx.AsyncClient,
) -> None:
    page = (await editor.get("/admin/callouts/new")).text
    for field in ("title", "needed", "people", "until", "location", "address", "contact"):
        assert f'<label for="{field}">' in page
    assert re.search(r'name="urgency" value="soon" checked', page)
    folded = page.split("<details>")[1].split("</details>")[0]
    for field in ("start", "timezone", "latitude", "longitude", "online_url"):
        assert f'id="{field}"' in folded


async def test_callout_from_the_form_is_stored_federated_and_audited(
    node: Node, editor: httpx.AsyncClient
) -> None:
    response = await post_form(editor, "/admin/callouts/new", **CALLOUT)
    assert response.status_code == 303
    callout = await _one(node, select(Callout))
    assert response.headers["location"] == f"/admin/callouts?done=created#callout-{callout.id}"
    assert (callout.title, callout.urgency, callout.people_needed) == (
        "Eviction at 7am",
        "urgent",
        20,
    )
    assert callout.status == "open" and callout.contact == "Signal 07700 900000"
    assert callout.starts_at <= datetime.now(UTC) < callout.ends_at  # no start: from now
    assert await _outbound(node) == [("Create", callout.uri)]
    assert await _audit(node) == [("rosa", "callout.create", f'{callout.uri} "{callout.title}"')]
    listing = await editor.get(response.headers["location"])
    assert "Callout published" in listing.text and "Eviction at 7am" in listing.text


async def test_callout_edit_close_and_delete(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/callouts/new", **CALLOUT)
    callout = await _one(node, select(Callout))
    edit = f"/admin/callouts/{callout.id}/edit"
    assert _value((await editor.get(edit)).text, "until") == f"{DAY}T09:00"
    await post_form(editor, edit, **{**CALLOUT, "people": "30", "urgency": "soon"})
    changed = await _one(node, select(Callout))
    assert (changed.people_needed, changed.urgency) == (30, "soon")
    closed = await post_form(editor, "/admin/callouts", f"/admin/callouts/{callout.id}/close")
    assert closed.headers["location"] == f"/admin/callouts?done=closed#callout-{callout.id}"
    assert (await _one(node, select(Callout.status))) == "met"
    refused = await post_form(editor, f"/admin/callouts/{callout.id}/cancel")
    assert refused.status_code == 409 and "already met" in refused.text
    deleted = await post_form(editor, f"/admin/callouts/{callout.id}/delete")
    assert deleted.headers["location"] == "/admin/callouts?done=deleted"
    assert await _one(node, select(func.count()).select_from(Callout)) == 0
    kinds = [kind for kind, _ in await _outbound(node)]
    assert kinds == ["Create", "Update", "Update", "Delete"]
    actions = [a for _, a, _ in await _audit(node)]
    assert actions == ["callout.create", "callout.update", "callout.close", "callout.delete"]


async def test_callout_cancel_asks_first(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/callouts/new", **CALLOUT)
    callout = await _one(node, select(Callout))
    page = f"/admin/callouts/{callout.id}/cancel"
    assert "Call this callout off?" in (await editor.get(page)).text
    response = await post_form(editor, page)
    assert response.headers["location"] == f"/admin/callouts?done=cancelled#callout-{callout.id}"
    assert (await _one(node, select(Callout.status))) == "cancelled"
    assert [a for _, a, _ in await _audit(node)] == ["callout.create", "callout.cancel"]


CALLOUT_MISTAKES = [
    ({"needed": ""}, "needed", "What is needed is required."),
    ({"people": "0"}, "people", "must be between 1 and 100000"),
    ({"start": "2001-01-01T08:00", "until": "2001-01-01T09:00"}, "until", "already past"),
    ({"start": f"{DAY}T10:00"}, "until", "Until must be after the start."),
    ({"timezone": "Nowhere/Land"}, "timezone", "Unknown time zone"),
    ({"latitude": "91"}, "latitude", "must be between -90 and 90"),
    ({"contact": "c" * 501}, "contact", "the limit is 500"),
]


async def test_invalid_callout_is_shown_again_with_the_message_and_nothing_stored(
    node: Node, editor: httpx.AsyncClient
) -> None:
    for changes, field, message in CALLOUT_MISTAKES:
        response = await post_form(editor, "/admin/callouts/new", **{**CALLOUT, **changes})
        assert response.status_code == 400, changes
        assert message in _field_error(response.text, field), changes
        assert _value(response.text, "title") == CALLOUT["title"]
        if field in ("timezone", "latitude"):
            assert "<details open>" in response.text  # the folded field with the error shows
    assert await _one(node, select(func.count()).select_from(Callout)) == 0
    assert await _outbound(node) == [] and await _audit(node) == []


async def test_unknown_urgency_is_refused_beside_the_choice(
    node: Node, editor: httpx.AsyncClient
) -> None:
    response = await post_form(editor, "/admin/callouts/new", **{**CALLOUT, "urgency": "now!"})
    assert response.status_code == 400
    assert '<p class="field-error" id="urgency-error">Urgency must be one of' in response.text
    assert await _one(node, select(func.count()).select_from(Callout)) == 0


async def test_responses_page_lists_who_answered_with_counts(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await _add_follower(node)
    await post_form(editor, "/admin/callouts/new", **CALLOUT)
    callout = await _one(node, select(Callout))
    async with node.ctx.sessions() as session, session.begin():
        for n, (actor, option) in enumerate(
            [
                ("https://social.example/users/ann", "come"),
                ("https://other.example/users/bo", "come"),
                ("https://other.example/users/cy", "help"),
            ]
        ):
            session.add(
                CalloutResponse(
                    callout_id=callout.id,
                    actor_uri=actor,
                    option=option,
                    activity_uri=f"{actor}/votes/{n}",
                )
            )
    page = await editor.get(f"/admin/callouts/{callout.id}/responses")
    assert page.status_code == 200
    assert "<dt>Can come</dt><dd>2 of 20 needed</dd>" in page.text
    assert "<dt>Can help another way</dt><dd>1</dd>" in page.text
    assert "@ann@social.example" in page.text  # a known account is named
    assert "https://other.example/users/cy" in page.text  # an unknown one by its id
    assert page.text.index("ann@social") < page.text.index("users/bo")
    logged_out = await node.client.get(f"/admin/callouts/{callout.id}/responses")
    assert logged_out.status_code == 303


async def test_admins_use_the_same_pages(node: Node) -> None:
    async with _client(node, "ada", "admin") as admin:
        response = await post_form(admin, "/admin/callouts/new", **CALLOUT)
        assert response.status_code == 303
        assert (await admin.get("/admin/callouts")).status_code == 200
    assert [(u, a) for u, a, _ in await _audit(node)] == [("ada", "callout.create")]
