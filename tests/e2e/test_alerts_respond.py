"""Answering a callout from a push alert, without an account, against a real
node: the real RFC 8030 push service on loopback checks VAPID and each
subscriber decrypts their own messages, and fediverse accounts vote over
signed loopback HTTP. An answer counts once, takes its place among the
fediverse votes, and only the confirmed subscriber is sent the address."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from node.alerts.tokens import alert_actor, token_subscription_id
from node.content.models import Callout
from node.content.responders import remove_responder
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.alerts import send_alerts, subscribe_push
from tests.support.dispatch import act, direct_to
from tests.support.fediverse import Account, FakeServer
from tests.support.nodes import Node
from tests.support.published import vote
from tests.support.push_service import PushService, push_service
from tests.support.respond import SECRET, answer, private_callout, responses, tally, token_of


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


def link_in(push: PushService, phone: str, title: str) -> str:
    [message] = [m for m in push.messages(phone) if m["title"] == title]
    url: str = message["url"]
    return url


async def vote_from(node: Node, account: Account, callout_id: int, option: str) -> None:
    uri = f"{node.base_url}/callouts/{callout_id}"
    sent = await account.post(f"{node.actor_id}/inbox", vote(account, uri, option))
    assert sent.status_code == 202

    async def counted() -> bool:
        return any(actor == account.id for actor, _, _ in await responses(node, callout_id))

    await eventually(counted)


async def test_each_subscriber_gets_their_own_link_and_answering_twice_counts_once(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    for phone in ("ann", "bo"):
        await subscribe_push(node, push.subscriber(phone))
    cid = await private_callout(node)
    await send_alerts(node)
    links = {p: link_in(push, p, "New callout: Eviction watch") for p in ("ann", "bo")}
    for message in push.received:
        assert message.data["url"].startswith(f"{node.base_url}/callouts/{cid}/respond?t=")
        assert message.data["page"] == f"{node.base_url}/callouts/{cid}"
        assert SECRET not in json.dumps(message.data)
    assert token_of(links["ann"]) != token_of(links["bo"])

    first = await answer(node, links["ann"], "come", name="Ann", reach="Signal 0700")
    assert first.status_code == 303 and "saved=1" in first.headers["location"]
    again = await answer(node, links["ann"], "come")
    assert again.status_code == 303
    ann = alert_actor(token_subscription_id(token_of(links["ann"])) or 0)
    assert await responses(node, cid) == [(ann, "come", "confirmed")]
    assert await tally(node, cid) == (1, 0)

    await answer(node, links["ann"], "help")  # a change, not a second answer
    await answer(node, links["bo"], "help")
    assert [(o, r) for _, o, r in await responses(node, cid)] == [("help", None), ("help", None)]
    assert await tally(node, cid) == (0, 2)
    shown = await node.client.get(links["ann"] + "&saved=1")
    assert "You answered: I can help another way" in shown.text
    assert "Thank you: your answer is saved" in shown.text


async def test_alert_answers_are_dispatched_in_order_with_fediverse_votes_and_only_the_confirmed_get_the_address(  # noqa: E501
    start_node: NodeFactory, push: PushService, fediverse: FakeServer
) -> None:
    node = await start_node("network")
    alice, bob = fediverse.add_account("alice"), fediverse.add_account("bob", key_index=1)
    for phone in ("one", "two", "idle"):
        await subscribe_push(node, push.subscriber(phone))
    cid = await private_callout(node, people="2")

    async def alerted() -> bool:
        return all(push.messages(p) for p in ("one", "two", "idle"))

    await eventually(alerted)
    link = {p: link_in(push, p, "New callout: Eviction watch") for p in ("one", "two")}
    await vote_from(node, alice, cid, "I can come")
    assert (await answer(node, link["one"], "come", name="One")).status_code == 303
    await vote_from(node, bob, cid, "I can come")
    assert (await answer(node, link["two"], "come")).status_code == 303
    one = alert_actor(token_subscription_id(token_of(link["one"])) or 0)
    two = alert_actor(token_subscription_id(token_of(link["two"])) or 0)
    assert [(a, r) for a, _, r in await responses(node, cid)] == [
        (alice.id, "confirmed"),
        (one, "confirmed"),
        (bob.id, "standby"),
        (two, "standby"),
    ]
    confirmed = await wait_push(push, "one", "You are confirmed: Eviction watch")
    assert SECRET in confirmed["body"] and "Signal: 07000 000000" in confirmed["body"]
    standby = await wait_push(push, "two", "On standby: Eviction watch")
    assert SECRET not in json.dumps(standby)
    await fediverse.wait_for(direct_to(alice, "You are confirmed"))

    # "one" can only help another way now: their place goes to the next in order
    assert (await answer(node, link["one"], "help")).status_code == 303
    await fediverse.wait_for(direct_to(bob, "You are confirmed"))
    async with node.ctx.sessions() as session, session.begin():
        callout = await session.get(Callout, cid)
        assert callout is not None
        await remove_responder(node.ctx, session, callout, alice.id)
    node.ctx.wake()
    promoted = await wait_push(push, "two", "You are confirmed: Eviction watch")
    assert SECRET in promoted["body"]
    assert [(a, o, r) for a, o, r in await responses(node, cid)] == [
        (alice.id, "come", "removed"),
        (bob.id, "come", "confirmed"),
        (two, "come", "confirmed"),
        (one, "help", None),
    ]

    assert await act(node, await _callout(node, cid), "cancel") == "cancelled"
    await wait_push(push, "two", "CANCELLED — do not go: Eviction watch")
    await eventually(lambda_count(push, "idle", 2))  # new callout, cancelled
    await send_alerts(node)
    for message in push.received:
        title = message.data["title"]
        carries = SECRET in json.dumps(message.data, ensure_ascii=False)
        assert carries == title.startswith("You are confirmed"), title
    with_secret = sorted(
        (m.subscriber, m.data["title"]) for m in push.received if SECRET in json.dumps(m.data)
    )
    assert with_secret == [
        ("one", "You are confirmed: Eviction watch"),
        ("two", "You are confirmed: Eviction watch"),
    ]
    assert not [m for m in push.messages("idle") if "You are" in m["title"]]


async def _callout(node: Node, cid: int) -> Callout:
    async with node.ctx.sessions() as session:
        callout = await session.get(Callout, cid)
        assert callout is not None
        return callout


def lambda_count(push: PushService, phone: str, n: int) -> Any:
    async def enough() -> bool:
        return len(push.messages(phone)) >= n

    return enough


async def wait_push(push: PushService, phone: str, title: str) -> dict[str, Any]:
    async def arrived() -> bool:
        return any(m["title"] == title for m in push.messages(phone))

    await eventually(arrived)
    found: dict[str, Any] = next(m for m in push.messages(phone) if m["title"] == title)
    return found
