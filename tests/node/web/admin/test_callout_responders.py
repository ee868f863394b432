"""A callout's responders page, for organisers (node/web/admin/callout_responders.py):
confirmed and standby in answer order, "help another way", answers per server, who
was sent which message; removing a responder moves the next on standby up."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from node.content import callouts as co
from node.content.models import Callout, CalloutResponse
from node.models import RemoteActor
from tests.support.admin import DAY, all_of, audit_log, one, post_form
from tests.support.nodes import Node

ANSWERS = [  # in answer order; two people are needed
    ("ann", "social.example", "come"),
    ("bo", "other.example", "come"),
    ("cy", "other.example", "help"),
    ("dee", "other.example", "come"),
]


def uri(name: str, domain: str) -> str:
    return f"https://{domain}/users/{name}"


async def answered_callout(node: Node) -> int:
    """An open callout for 2 people, answered as in ``ANSWERS`` through dispatch."""
    form = co.CalloutForm(
        title="Eviction at 7am",
        needed="People at the door",
        people="2",
        until=f"{DAY} 09:00",
        timezone="Europe/London",
        private_address="12 High Road",
        area="Tottenham",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form)
        for name, domain, _ in ANSWERS:
            session.add(
                RemoteActor(
                    uri=uri(name, domain),
                    domain=domain,
                    type="Person",
                    preferred_username=name,
                    inbox=f"{uri(name, domain)}/inbox",
                    raw={},
                )
            )
        await session.flush()
        for n, (name, domain, option) in enumerate(ANSWERS):
            actor = uri(name, domain)
            await co.answer_callout(node.ctx, session, callout, actor, option, f"{actor}#v{n}")
        return callout.id


def group(html: str, key: str) -> str:
    """The table of one group of responders (confirmed, standby, help, removed…)."""
    found = re.search(rf'<table class="responders responders-{key}">(.*?)</table>', html, re.S)
    assert found, f"no {key} table"
    return found.group(1)


def handles(table: str) -> list[str]:
    return re.findall(r">(@\w+@[\w.]+)</a>", table)


async def test_the_page_shows_roles_in_order_messages_and_answers_per_server(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await answered_callout(node)
    page = await editor.get(f"/admin/callouts/{cid}/responses")
    assert page.status_code == 200
    assert handles(group(page.text, "confirmed")) == ["@ann@social.example", "@bo@other.example"]
    assert handles(group(page.text, "standby")) == ["@dee@other.example"]
    assert handles(group(page.text, "help")) == ["@cy@other.example"]
    assert "sent the address" in group(page.text, "confirmed")
    assert "told they are on standby" in group(page.text, "standby")
    assert "<dt>Confirmed</dt><dd>2 of 2 needed</dd>" in page.text
    servers = re.findall(r'<span class="domain">([^<]+)</span>: (\d+)', page.text)
    assert servers == [("other.example", "3"), ("social.example", "1")]
    assert "Enough people" in page.text  # its state, and the buttons it allows now
    assert f'action="/admin/callouts/{cid}/enough"' not in page.text
    assert f'href="/admin/callouts/{cid}/close"' in page.text


async def test_removing_a_confirmed_responder_asks_first_and_promotes_the_next(
    node: Node, editor: httpx.AsyncClient
) -> None:
    cid = await answered_callout(node)
    ann = uri("ann", "social.example")
    remove = f"/admin/callouts/{cid}/responders/remove"
    ask = await editor.get(remove, params={"actor": ann})
    assert ask.status_code == 200 and "Remove this responder?" in ask.text
    assert "@ann@social.example" in ask.text
    done = await post_form(editor, f"{remove}?actor={ann}", remove, actor=ann)
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/callouts/{cid}/responses?done=removed"
    roles = {r.actor_uri: r.role for r in await all_of(node, select(CalloutResponse))}
    assert roles[ann] == "removed" and roles[uri("dee", "other.example")] == "confirmed"
    page = (await editor.get(done.headers["location"])).text
    assert "Responder removed" in page
    assert handles(group(page, "confirmed")) == ["@bo@other.example", "@dee@other.example"]
    assert "sent the address" in group(page, "confirmed").split("@dee")[1]
    assert handles(group(page, "removed")) == ["@ann@social.example"]
    # the audit log names the callout, not the responder (it outlives the purge)
    entries = [(a, t) for _, a, t in await audit_log(node) if a == "callout.remove-responder"]
    assert len(entries) == 1 and "ann" not in entries[0][1]
    again = await post_form(editor, f"{remove}?actor={ann}", remove, actor=ann)
    assert again.status_code == 409 and "was already removed" in again.text
    stranger = await post_form(editor, f"{remove}?actor={ann}", remove, actor="https://x.example/u")
    assert stranger.status_code == 409 and "did not answer this callout" in stranger.text


async def test_only_organisers_see_who_answered(node: Node, editor: httpx.AsyncClient) -> None:
    cid = await answered_callout(node)
    for path in (f"/admin/callouts/{cid}/responses", f"/admin/callouts/{cid}/responders/remove"):
        response = await node.client.get(path)
        assert response.status_code == 303 and "/admin/login" in response.headers["location"]
    public = await node.client.get(f"/callouts/{cid}")
    assert public.status_code == 200
    for _, domain, _ in ANSWERS:
        assert domain not in public.text
    assert "12 High Road" not in public.text
    assert (await one(node, select(Callout.status))) == "enough"
