"""The state buttons of a callout in the admin (node/web/admin/callout_actions.py):
each shows only when the state machine allows its move, the final ones ask first,
a refused move is a 409 in words, every move is audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from node.content import callouts as co
from node.content.models import Callout
from tests.support.admin import DAY, audit_log, one, post_form
from tests.support.nodes import Node

MOVES = ("confirm", "enough", "reopen", "close", "false-alarm", "cancel")


async def new_callout(node: Node, *, unverified: bool = True, people: str = "2") -> int:
    form = co.CalloutForm(
        title="Raid on Elm Road",
        needed="Witnesses",
        people=people,
        until=f"{DAY} 09:00",
        timezone="Europe/London",
        urgency="urgent",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form, unverified=unverified)
        return callout.id


def offered(html: str, callout_id: int) -> list[str]:
    """The moves offered for the callout, as the buttons' and links' targets."""
    item = re.search(rf'<li id="callout-{callout_id}".*?</li>', html, re.S)
    assert item, f"callout {callout_id} is not listed"
    box = re.search(r'<div class="actions state-actions">(.*?)</div>', item.group(0), re.S)
    assert box
    return re.findall(rf'/admin/callouts/{callout_id}/([a-z-]+)"', box.group(1))


async def status(node: Node) -> str:
    return str(await one(node, select(Callout.status)))


async def move(editor: httpx.AsyncClient, callout_id: int, action: str) -> httpx.Response:
    return await post_form(editor, "/admin/callouts", f"/admin/callouts/{callout_id}/{action}")


async def test_each_button_shows_only_while_its_move_is_allowed(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await new_callout(node)
    listing = "/admin/callouts"
    assert offered((await editor.get(listing)).text, cid) == ["confirm", "false-alarm"]
    steps = [
        ("confirm", "open", ["enough", "close", "cancel"]),
        ("enough", "enough", ["reopen", "close", "cancel"]),
        ("reopen", "open", ["enough", "close", "cancel"]),
        ("close", "met", ["reopen"]),
        ("reopen", "open", ["enough", "close", "cancel"]),
        ("cancel", "cancelled", []),
    ]
    for action, state, then in steps:
        response = await move(editor, cid, action)
        assert response.status_code == 303, (action, response.text[:300])
        assert response.headers["location"].endswith(f"#callout-{cid}")
        assert await status(node) == state
        assert offered((await editor.get(listing)).text, cid) == then, action
    verbs = [a for _, a, _ in await audit_log(node)]
    assert verbs == [f"callout.{action}" for action, _, _ in steps]


async def test_the_undo_of_a_close_is_offered_only_within_the_window(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await new_callout(node, unverified=False)
    await move(editor, cid, "close")
    page = (await editor.get("/admin/callouts?done=closed")).text
    assert "Callout closed: all clear" in page
    assert "Closed by mistake? Reopen" in page
    long_ago = datetime.now(UTC) - timedelta(minutes=11)
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(update(Callout).values(ended_at=long_ago))
    page = (await editor.get("/admin/callouts")).text
    assert "Closed by mistake" not in page and offered(page, cid) == []
    refused = await move(editor, cid, "reopen")
    assert refused.status_code == 409
    assert "A close can be undone only within 10 minutes" in refused.text
    assert await status(node) == "met"


async def test_final_moves_ask_first_and_a_get_changes_nothing(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await new_callout(node)
    ask = await editor.get(f"/admin/callouts/{cid}/false-alarm")
    assert ask.status_code == 200 and "Mark this callout a false alarm?" in ask.text
    assert f'action="/admin/callouts/{cid}/false-alarm"' in ask.text
    assert await status(node) == "unverified"
    done = await post_form(editor, f"/admin/callouts/{cid}/false-alarm")
    assert done.headers["location"] == f"/admin/callouts?done=false-alarm#callout-{cid}"
    assert await status(node) == "false-alarm"
    assert "Callout marked a false alarm" in (await editor.get(done.headers["location"])).text
    other = await new_callout(node, unverified=False)
    for action, heading in (("close", "all clear?"), ("cancel", "Call this callout off?")):
        page = await editor.get(f"/admin/callouts/{other}/{action}")
        assert page.status_code == 200 and heading in page.text, action
    for action in ("confirm", "enough", "reopen"):  # one-step moves take no GET
        assert (await editor.get(f"/admin/callouts/{other}/{action}")).status_code == 405


async def test_refused_moves_are_a_409_in_words_and_change_nothing(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await new_callout(node)
    refusals = [
        ("close", "An unverified callout cannot be closed: confirm it or mark it a false alarm"),
        ("enough", "Only an open callout can be marked enough: confirm it first"),
        ("reopen", "This callout is being checked: confirm it instead"),
        ("cancel", "An unverified callout is not cancelled: mark it a false alarm"),
    ]
    for action, message in refusals:
        response = await move(editor, cid, action)
        assert response.status_code == 409, action
        assert f'<p class="error" role="alert">{message}.</p>' in response.text
    asked = await editor.get(f"/admin/callouts/{cid}/close")  # the question is not even asked
    assert asked.status_code == 409 and "cannot be closed" in asked.text
    await move(editor, cid, "confirm")
    again = await move(editor, cid, "confirm")
    assert again.status_code == 409
    assert "Only an unverified callout can be confirmed (this one is open)" in again.text
    assert await status(node) == "open"
    assert [a for _, a, _ in await audit_log(node)] == ["callout.confirm"]


async def test_moves_need_a_logged_in_organiser_and_the_csrf_token(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await new_callout(node)
    anonymous = await node.client.post(f"/admin/callouts/{cid}/confirm")
    assert anonymous.status_code == 303 and "/admin/login" in anonymous.headers["location"]
    forged = await editor.post(f"/admin/callouts/{cid}/confirm", data={})
    assert forged.status_code == 403
    assert await status(node) == "unverified"
    missing = await post_form(editor, "/admin/callouts", "/admin/callouts/999/confirm")
    assert missing.status_code == 404
