"""The admin pages for callouts (node/web/admin/callouts.py): one short form with the
rarer fields folded, changes that federate and are audited, close (met), cancel and
delete (the state buttons are in test_callout_moves.py, the responders page in
test_callout_responders.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from node.content.models import Callout
from tests.support.admin import (
    CALLOUT_FORM,
    DAY,
    audit_log,
    field_error,
    input_value,
    one,
    outbound,
    post_form,
)
from tests.support.nodes import Node


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
    response = await post_form(editor, "/admin/callouts/new", **CALLOUT_FORM)
    assert response.status_code == 303
    callout = await one(node, select(Callout))
    assert response.headers["location"] == f"/admin/callouts?done=created#callout-{callout.id}"
    assert (callout.title, callout.urgency, callout.people_needed) == (
        "Eviction at 7am",
        "urgent",
        20,
    )
    assert callout.status == "open" and callout.contact == "Signal 07700 900000"
    assert callout.starts_at <= datetime.now(UTC) < callout.ends_at  # no start: from now
    assert await outbound(node) == [("Create", callout.uri)]
    assert await audit_log(node) == [("rosa", "callout.create", f'{callout.uri} "{callout.title}"')]
    listing = await editor.get(response.headers["location"])
    assert "Callout published" in listing.text and "Eviction at 7am" in listing.text


async def test_callout_edit_close_and_delete(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/callouts/new", **CALLOUT_FORM)
    callout = await one(node, select(Callout))
    edit = f"/admin/callouts/{callout.id}/edit"
    assert input_value((await editor.get(edit)).text, "until") == f"{DAY}T09:00"
    await post_form(editor, edit, **{**CALLOUT_FORM, "people": "30", "urgency": "soon"})
    changed = await one(node, select(Callout))
    assert (changed.people_needed, changed.urgency) == (30, "soon")
    closed = await post_form(editor, "/admin/callouts", f"/admin/callouts/{callout.id}/close")
    assert closed.headers["location"] == f"/admin/callouts?done=closed#callout-{callout.id}"
    assert (await one(node, select(Callout.status))) == "met"
    refused = await post_form(editor, f"/admin/callouts/{callout.id}/cancel")
    assert refused.status_code == 409 and "can be cancelled (this one is met)" in refused.text
    # the edit's Update; the close's Update and its "ALL CLEAR" Note
    assert [kind for kind, _ in await outbound(node)] == ["Create", "Update", "Update", "Create"]
    deleted = await post_form(editor, f"/admin/callouts/{callout.id}/delete")
    assert deleted.headers["location"] == "/admin/callouts?done=deleted"
    assert await one(node, select(func.count()).select_from(Callout)) == 0
    kinds = [kind for kind, _ in await outbound(node)]
    # the callout's earlier activities and its "ALL CLEAR" Note are gone; both went as Deletes
    assert kinds == ["Delete", "Delete"]
    actions = [a for _, a, _ in await audit_log(node)]
    assert actions == ["callout.create", "callout.update", "callout.close", "callout.delete"]


async def test_callout_cancel_asks_first(node: Node, editor: httpx.AsyncClient) -> None:
    await post_form(editor, "/admin/callouts/new", **CALLOUT_FORM)
    callout = await one(node, select(Callout))
    page = f"/admin/callouts/{callout.id}/cancel"
    assert "Call this callout off?" in (await editor.get(page)).text
    response = await post_form(editor, page)
    assert response.headers["location"] == f"/admin/callouts?done=cancelled#callout-{callout.id}"
    assert (await one(node, select(Callout.status))) == "cancelled"
    assert [a for _, a, _ in await audit_log(node)] == ["callout.create", "callout.cancel"]


CALLOUT_MISTAKES = [
    ({"needed": ""}, "needed", "What is needed is required."),
    ({"people": "0"}, "people", "must be between 1 and 100000"),
    ({"start": "2001-01-01T08:00", "until": "2001-01-01T09:00"}, "until", "Until is in the past"),
    ({"start": f"{DAY}T10:00"}, "until", "Until must be after the start (from)."),
    ({"timezone": "Nowhere/Land"}, "timezone", "Unknown time zone"),
    ({"latitude": "91"}, "latitude", "must be between -90 and 90"),
    ({"contact": "c" * 501}, "contact", "the limit is 500"),
]


async def test_invalid_callout_is_shown_again_with_the_message_and_nothing_stored(
    node: Node, editor: httpx.AsyncClient
) -> None:
    for changes, field, message in CALLOUT_MISTAKES:
        response = await post_form(editor, "/admin/callouts/new", **{**CALLOUT_FORM, **changes})
        assert response.status_code == 400, changes
        assert message in field_error(response.text, field), changes
        assert input_value(response.text, "title") == CALLOUT_FORM["title"]
        if field in ("timezone", "latitude"):
            assert "<details open>" in response.text  # the folded field with the error shows
    assert await one(node, select(func.count()).select_from(Callout)) == 0
    assert await outbound(node) == [] and await audit_log(node) == []


async def test_unknown_urgency_is_refused_beside_the_choice(
    node: Node, editor: httpx.AsyncClient
) -> None:
    response = await post_form(editor, "/admin/callouts/new", **{**CALLOUT_FORM, "urgency": "now!"})
    assert response.status_code == 400
    assert '<p class="field-error" id="urgency-error">Urgency must be one of' in response.text
    assert await one(node, select(func.count()).select_from(Callout)) == 0
