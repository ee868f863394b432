"""Web Push alerts to a real RFC 8030 push service on loopback: the service
checks the VAPID JWT and the subscriber decrypts each message with its own
key, so what an alert says (and does not say) is proven."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.e2e.conftest import NodeFactory, eventually
from tests.support.alerts import (
    assert_nothing_private,
    count_subscriptions,
    job_states,
    publish_callout,
    publish_event,
    send_alerts,
    set_callout_status,
    subscribe_push,
    vapid_key_of,
)
from tests.support.push_service import PushService, push_service


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


async def test_an_urgent_callout_reaches_a_push_subscriber_encrypted_and_signed(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey")
    phone = push.subscriber("phone")
    subscribed = await subscribe_push(node, phone, "urgent")
    callout = await publish_callout(node)

    async def arrived() -> bool:
        return bool(push.messages("phone"))

    await eventually(arrived)  # the node's own worker, woken by the commit
    assert push.refused == []
    [message] = push.received
    page = (await node.client.get("/alerts")).text
    assert message.vapid_key == vapid_key_of(page)  # signed with the key the page offers
    assert message.headers["urgency"] == "high"
    assert 6 * 86400 < int(message.headers["ttl"]) <= 8 * 86400  # until the callout ends
    data = message.data
    assert data["title"] == "New callout: Eviction at 7am"
    assert "People at the door (20 people)" in data["body"]
    assert "Area: Tottenham" in data["body"]
    assert data["url"].startswith(f"{callout.url}/respond?t=")  # the subscriber's own link
    assert data["page"] == callout.url
    assert data["unsubscribe"] == subscribed["unsubscribe"]
    assert_nothing_private(json.dumps(data, ensure_ascii=False))


async def test_scopes_choose_which_callouts_and_events_alert(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    for scope in ("urgent", "callouts", "everything"):
        await subscribe_push(node, push.subscriber(scope), scope)
    await publish_callout(node, title="Urgent one")
    await publish_callout(node, title="Soon one", urgency="soon")
    await publish_event(node, title="Assembly")
    await send_alerts(node)

    def titles(name: str) -> list[str]:
        return sorted(m["title"] for m in push.messages(name))

    assert titles("urgent") == ["New callout: Urgent one"]
    assert titles("callouts") == ["New callout: Soon one", "New callout: Urgent one"]
    assert titles("everything") == [
        "New callout: Soon one",
        "New callout: Urgent one",
        "New event: Assembly",
    ]
    soon = next(m for m in push.received if m.data["title"] == "New callout: Soon one")
    assert soon.headers["urgency"] == "normal"


async def test_met_and_cancelled_callouts_alert_with_their_state_in_words(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("phone"), "urgent")
    first, second = await publish_callout(node), await publish_callout(node, title="Second")
    await set_callout_status(node, first.id, "met")
    await set_callout_status(node, second.id, "cancelled")
    await send_alerts(node)
    by_title = {m["title"]: m["body"] for m in push.messages("phone")}
    assert "Enough people answered" in by_title["Met: Eviction at 7am"]
    assert "called off" in by_title["Cancelled: Second"]
    assert len(by_title) == 4


async def test_a_push_service_answering_404_or_410_removes_the_subscription(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    for name, status in (("gone", 410), ("missing", 404)):
        await subscribe_push(node, push.subscriber(name))
        push.script[name] = [status]
    await subscribe_push(node, push.subscriber("kept"))
    await publish_callout(node)
    await send_alerts(node)
    assert await count_subscriptions(node) == 1
    await publish_callout(node, title="Next")
    await send_alerts(node)
    assert push.posts == 4  # the removed subscriptions were not tried again
    assert [m["title"] for m in push.messages("kept")] == [
        "New callout: Eviction at 7am",
        "New callout: Next",
    ]


async def test_a_failed_push_is_retried_and_delivered_exactly_once(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("phone"))
    push.script["phone"] = [500]
    await publish_callout(node)
    await send_alerts(node)
    assert push.posts == 1 and push.received == []
    assert await send_alerts(node) == 0  # not due yet: backoff
    await send_alerts(node, later=timedelta(minutes=2))
    await send_alerts(node, later=timedelta(hours=1))  # nothing left to send
    assert push.posts == 2
    assert len(push.messages("phone")) == 1
    assert await job_states(node) == ["done"]


async def test_unsubscribing_by_the_link_of_an_alert_stops_alerts(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("phone"))
    await publish_callout(node)
    await send_alerts(node)
    [alert] = push.messages("phone")
    link = alert["unsubscribe"]
    page = await node.client.get(link)
    assert page.status_code == 200 and "Unsubscribe</button>" in page.text
    assert await count_subscriptions(node) == 1  # opening the link changes nothing
    token = link.split("t=", 1)[1]
    done = await node.client.post("/alerts/unsubscribe", data={"t": token})
    assert done.status_code == 200 and "Unsubscribed" in done.text
    await publish_callout(node, title="After")
    await send_alerts(node)
    assert len(push.messages("phone")) == 1
    again = await node.client.post("/alerts/unsubscribe", data={"t": token})
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"subscription": {"keys": {}}, "scope": "urgent"}, "no endpoint"),
        ({"subscription": {"endpoint": "ftp://x/1", "keys": {}}, "scope": "urgent"}, "https"),
        (
            {
                "subscription": {
                    "endpoint": "https://push.example/1",
                    "keys": {"p256dh": "AAAA", "auth": "AAAA"},
                },
                "scope": "urgent",
            },
            "wrong size",
        ),
        ({"subscription": None, "scope": "urgent"}, "JSON object"),
    ],
)
async def test_a_bad_push_subscription_gets_a_400_that_says_why(
    start_node: NodeFactory, body: dict[str, object], message: str
) -> None:
    node = await start_node("haringey", worker=False)
    answer = await node.client.post("/alerts/push", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert await count_subscriptions(node) == 0
