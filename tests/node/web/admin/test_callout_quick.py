"""The quick callout form (/admin/callouts/quick): phone-first, urgent by default, an
"unverified" checkbox, the area public and the exact address private, and every
mistake shown at once beside its field."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from node.content.models import Callout
from tests.support.admin import DAY, audit_log, field_error, input_value, one, outbound, post_form
from tests.support.nodes import Node

QUICK = "/admin/callouts/quick"
FORM = {
    "title": "Eviction at 7am",
    "needed": "People at the door",
    "start": "",
    "until": f"{DAY}T09:00",
    "area": "Tottenham, N15",
    "private_address": "12 High Road",
    "people": "5",
    "contact": "Signal 07700 900000",
    "urgency": "urgent",
    "timezone": "Europe/London",
}


async def test_the_quick_form_is_linked_from_the_dashboard_and_the_list(
    editor: httpx.AsyncClient,
) -> None:
    for page in ("/admin", "/admin/callouts"):
        assert f'href="{QUICK}"' in (await editor.get(page)).text, page
    form = (await editor.get(QUICK)).text
    assert re.search(r'name="urgency" value="urgent" checked', form)
    assert '<label for="start">From</label>' in form
    assert "Goes only to confirmed responders" in form
    assert 'id="unverified" name="unverified" type="checkbox" value="1" aria' in form


async def test_an_unverified_urgent_callout_from_the_quick_form(
    node: Node, editor: httpx.AsyncClient
) -> None:
    response = await post_form(editor, QUICK, **FORM, unverified="1")
    assert response.status_code == 303
    callout = await one(node, select(Callout))
    assert response.headers["location"] == f"/admin/callouts?done=created#callout-{callout.id}"
    assert (callout.status, callout.urgency, callout.people_needed) == ("unverified", "urgent", 5)
    assert (callout.area, callout.private_address) == ("Tottenham, N15", "12 High Road")
    assert callout.timezone == "Europe/London"
    assert await outbound(node) == [("Create", callout.uri)]
    assert [a for _, a, _ in await audit_log(node)] == ["callout.create"]
    listing = (await editor.get(response.headers["location"])).text
    assert "Unverified — being checked" in listing and "Confirm: GO" in listing


async def test_without_the_checkbox_the_callout_is_open_at_once(
    node: Node, editor: httpx.AsyncClient
) -> None:
    assert (await post_form(editor, QUICK, **FORM)).status_code == 303
    assert (await one(node, select(Callout.status))) == "open"


async def test_every_mistake_on_the_quick_form_shows_at_once(
    node: Node, editor: httpx.AsyncClient
) -> None:
    mistakes = {
        "title": "",
        "needed": "",
        "until": "2001-01-01T09:00",
        "people": "0",
        "area": "a" * 301,
    }
    response = await post_form(editor, QUICK, **{**FORM, **mistakes}, unverified="1")
    assert response.status_code == 400
    assert field_error(response.text, "title") == "Title is required."
    assert field_error(response.text, "needed") == "What is needed is required."
    assert field_error(response.text, "until") == "Until is in the past."
    assert "between 1 and 100000" in field_error(response.text, "people")
    assert "the limit is 300" in field_error(response.text, "area")
    summary = re.search(r'<div class="error" role="alert">(.*?)</div>', response.text, re.S)
    assert summary and summary.group(1).count("<li>") == 5
    # what was typed is kept, the checkbox too
    assert input_value(response.text, "private_address") == "12 High Road"
    assert input_value(response.text, "contact") == FORM["contact"]
    assert 'name="unverified" type="checkbox" value="1" checked' in response.text
    assert await one(node, select(func.count()).select_from(Callout)) == 0
    assert await outbound(node) == [] and await audit_log(node) == []


async def test_until_before_from_is_said_in_those_words(editor: httpx.AsyncClient) -> None:
    response = await post_form(editor, QUICK, **{**FORM, "start": f"{DAY}T10:00"})
    assert response.status_code == 400
    assert field_error(response.text, "until") == "Until must be after the start (from)."
