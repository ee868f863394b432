"""The admin pages for events (node/web/admin/events.py): the form validates on the
server and keeps what was typed, changes federate (Create/Update/Delete queued) and
are audited, and cancelling or deleting asks first."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from node.content.models import Event, Tombstone
from node.models import Delivery
from tests.support.admin import (
    DAY,
    EVENT_FORM,
    FUTURE,
    add_follower,
    all_of,
    audit_log,
    csrf_of,
    field_error,
    input_value,
    one,
    outbound,
    post_form,
)
from tests.support.nodes import Node


async def test_event_from_the_form_is_stored_federated_and_audited(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await add_follower(node)
    response = await post_form(editor, "/admin/events/new", **EVENT_FORM)
    assert response.status_code == 303
    event = await one(node, select(Event))
    assert response.headers["location"] == f"/admin/events?done=created#event-{event.id}"
    assert event.title == "Tenants' assembly" and event.local and event.status == "scheduled"
    assert event.timezone == "Europe/London" and not event.all_day
    assert event.starts_at < event.ends_at and event.starts_at.tzinfo is not None
    assert event.tags == ["housing", "meeting"]
    assert (event.latitude, event.longitude) == (51.5, -0.1)
    assert "<em>everyone</em>" in event.description_html
    assert await outbound(node) == [("Create", event.uri)]
    inboxes = await all_of(node, select(Delivery.inbox_url))
    assert inboxes == ["https://social.example/inbox"]
    assert await audit_log(node) == [("rosa", "event.create", f'{event.uri} "{event.title}"')]
    listing = await editor.get(response.headers["location"])
    assert "Event published" in listing.text and "Tenants&#39; assembly" in listing.text


async def test_event_edit_form_shows_stored_values_and_saves_changes(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT_FORM)
    event = await one(node, select(Event))
    page = await editor.get(f"/admin/events/{event.id}/edit")
    assert page.status_code == 200
    assert input_value(page.text, "start") == f"{DAY}T19:00"
    assert input_value(page.text, "tags") == "housing, meeting"
    assert input_value(page.text, "timezone") == "Europe/London"
    assert "Bring *everyone*.</textarea>" in page.text
    changed = {**EVENT_FORM, "title": "Assembly (moved)", "end": f"{DAY}T22:00"}
    response = await post_form(editor, f"/admin/events/{event.id}/edit", **changed)
    assert response.headers["location"] == f"/admin/events?done=updated#event-{event.id}"
    updated = await one(node, select(Event))
    assert updated.title == "Assembly (moved)"
    assert updated.ends_at - updated.starts_at == timedelta(hours=3)
    assert [kind for kind, _ in await outbound(node)] == ["Create", "Update"]
    assert [a for _, a, _ in await audit_log(node)] == ["event.create", "event.update"]


async def test_all_day_event_keeps_its_dates_through_the_edit_form(
    node: Node, editor: httpx.AsyncClient
) -> None:
    last = (FUTURE + timedelta(days=1)).isoformat()
    form = {**EVENT_FORM, "all_day": "1", "start": f"{DAY}T00:00", "end": f"{last}T00:00"}
    await post_form(editor, "/admin/events/new", **form)
    event = await one(node, select(Event))
    assert event.all_day and event.ends_at - event.starts_at == timedelta(days=2)
    page = await editor.get(f"/admin/events/{event.id}/edit")
    assert input_value(page.text, "end") == f"{last}T00:00"
    assert re.search(r'id="all_day"[^>]*checked', page.text)


async def test_cancel_asks_first_then_federates_an_update(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT_FORM)
    event = await one(node, select(Event))
    confirm = await editor.get(f"/admin/events/{event.id}/cancel")
    assert confirm.status_code == 200 and "Cancel this event?" in confirm.text
    assert (await one(node, select(Event.status))) == "scheduled"  # a GET changes nothing
    response = await editor.post(
        f"/admin/events/{event.id}/cancel", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert response.headers["location"] == f"/admin/events?done=cancelled#event-{event.id}"
    assert (await one(node, select(Event.status))) == "cancelled"
    # the Update, and a Note saying so (Mastodon before 4.5 ignores an Event's Update)
    assert [kind for kind, _ in await outbound(node)] == ["Create", "Update", "Create"]
    again = await editor.post(
        f"/admin/events/{event.id}/cancel", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert again.status_code == 409 and "already cancelled" in again.text
    assert [a for _, a, _ in await audit_log(node)] == ["event.create", "event.cancel"]


async def test_delete_asks_first_then_leaves_a_tombstone_and_a_delete(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT_FORM)
    event = await one(node, select(Event))
    page = f"/admin/events/{event.id}/delete"
    confirm = await editor.get(page)
    assert "Delete this event?" in confirm.text and "cannot be undone" in confirm.text
    response = await post_form(editor, page)
    assert response.headers["location"] == "/admin/events?done=deleted"
    assert await one(node, select(func.count()).select_from(Event)) == 0
    assert await one(node, select(Tombstone.uri)) == event.uri
    assert await outbound(node) == [("Create", event.uri), ("Delete", event.uri)]
    assert await audit_log(node) == [
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
        response = await post_form(editor, "/admin/events/new", **{**EVENT_FORM, **changes})
        assert response.status_code == 400, changes
        assert message in field_error(response.text, field), changes
        assert "Nothing was saved" in response.text
        kept = "title" if field != "title" else "address"
        assert input_value(response.text, kept) == EVENT_FORM[kept]  # what was typed is kept
    assert await one(node, select(func.count()).select_from(Event)) == 0
    assert await outbound(node) == [] and await audit_log(node) == []


async def test_invalid_edit_changes_nothing(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/events/new", **EVENT_FORM)
    event = await one(node, select(Event))
    bad = {**EVENT_FORM, "title": "New title", "end": f"{DAY}T10:00"}
    response = await post_form(editor, f"/admin/events/{event.id}/edit", **bad)
    assert response.status_code == 400
    assert input_value(response.text, "title") == "New title"
    assert "must be after the start" in field_error(response.text, "end")
    assert (await one(node, select(Event.title))) == EVENT_FORM["title"]
    assert len(await outbound(node)) == 1 and len(await audit_log(node)) == 1
