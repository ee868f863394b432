"""Two checks of the event form: an event starting in the past is published only
once confirmed, and a latitude needs its longitude (and the reverse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from node.content.models import Event
from node.content.validation import ContentError, point
from tests.support.admin import EVENT_FORM, all_of, field_error, one, post_form
from tests.support.nodes import Node

LAST_YEAR = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
PAST_FORM = {**EVENT_FORM, "start": f"{LAST_YEAR}T19:00", "end": f"{LAST_YEAR}T21:00"}


async def test_an_event_in_the_past_asks_for_confirmation_before_publishing(
    node: Node, editor: httpx.AsyncClient
) -> None:
    asked = await post_form(editor, "/admin/events/new", **PAST_FORM)
    assert asked.status_code == 400
    assert "starts in the past" in field_error(asked.text, "confirm_past")
    assert "Yes, publish an event in the past" in asked.text
    assert await all_of(node, select(Event)) == []
    confirmed = await post_form(editor, "/admin/events/new", **PAST_FORM, confirm_past="1")
    assert confirmed.status_code == 303
    event = await one(node, select(Event))
    assert event.starts_at.date().isoformat() == LAST_YEAR


async def test_an_upcoming_event_is_published_without_the_question(
    node: Node, editor: httpx.AsyncClient
) -> None:
    response = await post_form(editor, "/admin/events/new", **EVENT_FORM)
    assert response.status_code == 303


async def test_moving_an_event_into_the_past_asks_but_editing_a_past_one_does_not(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/events/new", **EVENT_FORM)
    event = await one(node, select(Event))
    edit = f"/admin/events/{event.id}/edit"
    moved = await post_form(editor, edit, **PAST_FORM)
    assert moved.status_code == 400 and "confirm_past-error" in moved.text
    confirmed = await post_form(editor, edit, **PAST_FORM, confirm_past="1")
    assert confirmed.status_code == 303
    again = await post_form(editor, edit, **{**PAST_FORM, "title": "Renamed afterwards"})
    assert again.status_code == 303  # its start is unchanged: nothing new to confirm
    assert (await one(node, select(Event))).title == "Renamed afterwards"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"latitude": "51.5", "longitude": ""}, "longitude"),
        ({"latitude": "", "longitude": "-0.1"}, "latitude"),
    ],
)
async def test_half_a_map_point_is_refused_beside_the_missing_field(
    node: Node, editor: httpx.AsyncClient, given: dict[str, str], missing: str
) -> None:
    response = await post_form(editor, "/admin/events/new", **{**EVENT_FORM, **given})
    assert response.status_code == 400
    assert field_error(response.text, missing).startswith(f"Give the {missing} too")
    assert await all_of(node, select(Event)) == []


def test_a_point_is_both_coordinates_or_neither() -> None:
    assert point("51.5", "-0.1") == (51.5, -0.1)
    assert point("", None) == (None, None)
    with pytest.raises(ContentError) as refused:
        point(None, "2")
    assert refused.value.field == "latitude"
