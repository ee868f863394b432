"""Callouts run as a dispatch, between a real node and fake fediverse accounts over
loopback: answers collected while unverified, the first N confirmed on confirm,
automatic enough, standby in order and promotion, direct messages with the
private address to exactly the confirmed, and that address nowhere public."""

from __future__ import annotations

from typing import Any

from node.content.lookup import find_local
from node.content.models import Callout
from node.content.responders import remove_responder, responder_report
from tests.e2e.conftest import NodeFactory
from tests.support.dispatch import SECRET, act, answer, direct_to, publish_private_callout, roles
from tests.support.fediverse import Account, FakeServer, Received
from tests.support.nodes import Node

AS2 = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def assert_direct(received: Received, account: Account) -> None:
    note = received.activity["object"]
    assert received.verified
    assert received.activity["to"] == note["to"] == [account.id]
    assert PUBLIC not in str(received.activity) and "/followers" not in str(received.activity)
    assert note["tag"] == [
        {
            "type": "Mention",
            "href": account.id,
            "name": f"@{account.name}@{account.server.authority}",
        }
    ]
    assert f"@<span>{account.name}</span>" in note["content"]


async def test_unverified_answers_are_dispatched_on_confirm_with_the_address_to_the_confirmed(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network")
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    carol, dave = fediverse.add_account("carol", key_index=2), fediverse.add_account("dave")
    callout = await publish_private_callout(a, unverified=True)
    await answer(a, alice, callout, "I can come")
    await answer(a, dave, callout, "I can help another way")
    await answer(a, bob, callout, "I can come")
    assert await roles(a, callout) == {alice.id: "pending", bob.id: "pending", dave.id: "help"}

    assert await act(a, callout, "confirm") == "enough"  # 2 of 2 confirmed at once
    assert await roles(a, callout) == {alice.id: "confirmed", bob.id: "confirmed", dave.id: "help"}
    for account in (alice, bob):
        told = await fediverse.wait_for(direct_to(account, "You are confirmed"))
        assert_direct(told, account)
        assert SECRET in told.activity["object"]["content"]
        assert "Signal: 07000 000000" in told.activity["object"]["content"]

    await answer(a, carol, callout, "I can come")  # too late: standby
    standby = await fediverse.wait_for(direct_to(carol, "on standby"))
    assert_direct(standby, carol)
    assert SECRET not in str(standby.activity)
    assert (await roles(a, callout))[carol.id] == "standby"

    async with a.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        await remove_responder(a.ctx, session, mine, alice.id)
    a.ctx.wake()
    promoted = await fediverse.wait_for(direct_to(carol, "You are confirmed"))
    assert SECRET in promoted.activity["object"]["content"]
    assert await roles(a, callout) == {
        bob.id: "confirmed",
        carol.id: "confirmed",
        dave.id: "help",
        alice.id: "removed",
    }

    assert await act(a, callout, "cancel") == "cancelled"
    for account in (bob, carol):
        await fediverse.wait_for(direct_to(account, "CANCELLED — do not go"))
    with_secret = {r.path for r in fediverse.received if SECRET in str(r.activity)}
    assert with_secret == {"/users/alice/inbox", "/users/bob/inbox", "/users/carol/inbox"}
    assert not any(SECRET in str(r.activity) for r in fediverse.received if r.path == "/inbox")
    await assert_nowhere_public(a, callout)


async def assert_nowhere_public(node: Node, callout: Callout) -> None:
    """Every public path a reader or a server can fetch, searched for the address."""
    paths = [
        "/", "/callouts", "/calendar", "/tags/callout", "/callouts.atom", "/events.atom",
        "/events.ics", "/calendar.ics", callout.url, f"{node.actor_id}/outbox?page=1",
    ]  # fmt: skip
    for path in paths:
        for accept in ("text/html", AS2):
            page = await node.client.get(path, headers={"Accept": accept})
            assert page.status_code == 200, path
            assert SECRET not in page.text, (path, accept)
    outbox = await node.client.get(f"{node.actor_id}/outbox?page=1", headers={"Accept": AS2})
    for item in outbox.json()["orderedItems"]:
        page = await node.client.get(item["id"], headers={"Accept": AS2})
        assert page.status_code == 200 and SECRET not in page.text
    async with node.ctx.sessions() as session:
        mine = await find_local(session, Callout, callout.uri)
        report = await responder_report(session, mine)
    assert report.per_server == [(callout_server(report), 4)]
    assert {r.actor_uri: r.messaged for r in report.responders}[
        next(r.actor_uri for r in report.responders if r.role == "removed")
    ] == ("confirmed",)


def callout_server(report: Any) -> str:
    return str(report.responders[0].actor_uri.split("/")[2])


async def test_votes_reach_enough_by_themselves_and_followers_hear_the_news(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a = await start_node("network")
    follower = fediverse.add_account("erin", key_index=2)
    await follower.post(f"{a.actor_id}/inbox", follower.follow(a.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    callout = await publish_private_callout(a, unverified=False)
    await answer(a, alice, callout, "I can come")
    assert (await roles(a, callout))[alice.id] == "confirmed"
    await answer(a, bob, callout, "I can come")

    def enough_update(received: Received) -> bool:
        obj = received.activity.get("object")
        return (
            received.activity["type"] == "Update"
            and isinstance(obj, dict)
            and obj.get("calloutStatus") == "enough"
        )

    update = await fediverse.wait_for(enough_update)
    question = update.activity["object"]
    assert (question["peopleNeeded"], question["peopleConfirmed"]) == (2, 2)
    assert "closed" not in question  # enough still takes answers (as standby)
    assert [o["name"] for o in question["oneOf"]] == ["I can come", "I can help another way"]

    def news(words: str) -> Any:
        def match(received: Received) -> bool:
            obj = received.activity.get("object")
            return (
                received.path == "/inbox"
                and received.activity["type"] == "Create"
                and isinstance(obj, dict)
                and obj.get("inReplyTo") == callout.uri
                and words in obj.get("content", "")
            )

        return match

    note = (await fediverse.wait_for(news("ENOUGH PEOPLE — stand down"))).activity["object"]
    assert note["to"] == [PUBLIC] and note["cc"] == [f"{a.actor_id}/followers"]
    assert callout.url in note["content"] and SECRET not in str(note)
    assert await act(a, callout, "close") == "met"
    await fediverse.wait_for(news("ALL CLEAR"))
    closed = await fediverse.wait_for(
        lambda r: (
            isinstance(r.activity.get("object"), dict)
            and r.activity["object"].get("calloutStatus") == "met"
        )
    )
    assert "closed" in closed.activity["object"]
    assert await act(a, callout, "reopen") == "enough"  # undo of the close: full, so enough
