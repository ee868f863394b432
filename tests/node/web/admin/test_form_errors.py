"""Every mistake in a form is shown at once, beside its field and in the summary at
the top, and nothing is stored: the full callout form and the event form (the
quick callout form is in test_callout_quick.py)."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from node.content.models import Callout, Event
from tests.support.admin import (
    CALLOUT_FORM,
    DAY,
    EVENT_FORM,
    audit_log,
    field_error,
    input_value,
    one,
    outbound,
    post_form,
)
from tests.support.nodes import Node


def summary_items(html: str) -> list[str]:
    """The messages listed in the error summary above the form."""
    box = re.search(r'<div class="error" role="alert">(.*?)</div>', html, re.S)
    assert box, "no error summary"
    return re.findall(r"<li>(.*?)</li>", box.group(1), re.S)


async def test_the_full_callout_form_shows_every_mistake_at_once(
    node: Node, editor: httpx.AsyncClient
) -> None:
    mistakes = {
        "title": "",
        "people": "0",
        "until": "2001-01-01T09:00",
        "latitude": "91",
        "online_url": "ftp://files.example",
    }
    response = await post_form(editor, "/admin/callouts/new", **{**CALLOUT_FORM, **mistakes})
    assert response.status_code == 400
    assert field_error(response.text, "title") == "Title is required."
    assert "between 1 and 100000" in field_error(response.text, "people")
    assert field_error(response.text, "until") == "Until is in the past."
    assert "between -90 and 90" in field_error(response.text, "latitude")
    assert "https://" in field_error(response.text, "online_url")
    assert len(summary_items(response.text)) == 5
    assert input_value(response.text, "contact") == CALLOUT_FORM["contact"]  # the rest kept
    assert "<details open>" in response.text  # folded fields with errors show
    assert await one(node, select(func.count()).select_from(Callout)) == 0
    assert await outbound(node) == [] and await audit_log(node) == []


async def test_a_private_address_refuses_every_public_place_field_at_once(
    node: Node, editor: httpx.AsyncClient
) -> None:
    form = {**CALLOUT_FORM, "private_address": "12 High Road", "address": "12 High Road"}
    response = await post_form(editor, "/admin/callouts/new", **form)
    assert response.status_code == 400
    for field in ("location", "address"):
        assert "must be empty when the address is private" in field_error(response.text, field)
    assert await one(node, select(func.count()).select_from(Callout)) == 0


async def test_editing_a_callout_shows_every_mistake_and_changes_nothing(
    node: Node, editor: httpx.AsyncClient
) -> None:
    await post_form(editor, "/admin/callouts/new", **CALLOUT_FORM)
    callout = await one(node, select(Callout))
    edit = f"/admin/callouts/{callout.id}/edit"
    response = await post_form(editor, edit, **{**CALLOUT_FORM, "needed": "", "people": "x"})
    assert response.status_code == 400
    assert field_error(response.text, "needed") == "What is needed is required."
    assert "not a whole number" in field_error(response.text, "people")
    assert (await one(node, select(Callout.people_needed))) == 20


async def test_the_event_form_shows_every_mistake_at_once(
    node: Node, editor: httpx.AsyncClient
) -> None:
    mistakes = {
        "title": "",
        "start": f"{DAY}T21:00",
        "end": f"{DAY}T19:00",
        "longitude": "181",
        "tags": "not a tag!",
    }
    response = await post_form(editor, "/admin/events/new", **{**EVENT_FORM, **mistakes})
    assert response.status_code == 400
    assert field_error(response.text, "title") == "Title is required."
    assert field_error(response.text, "end") == "End must be after the start."
    assert "between -180 and 180" in field_error(response.text, "longitude")
    assert "is not a tag" in field_error(response.text, "tags")
    assert len(summary_items(response.text)) == 4
    assert input_value(response.text, "location") == EVENT_FORM["location"]
    assert await one(node, select(func.count()).select_from(Event)) == 0
    assert await outbound(node) == [] and await audit_log(node) == []


async def test_an_unreadable_start_and_a_bad_zone_are_both_reported(
    editor: httpx.AsyncClient,
) -> None:
    bad = {**EVENT_FORM, "title": "", "timezone": "Nowhere/Land"}
    response = await post_form(editor, "/admin/events/new", **bad)
    assert response.status_code == 400
    assert "Unknown time zone" in field_error(response.text, "timezone")
    assert field_error(response.text, "title") == "Title is required."
