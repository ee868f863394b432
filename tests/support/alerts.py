"""Helpers of the alert tests: subscribing through the real routes, publishing
callouts and events, and stepping the alert sender."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from node.alerts.models import AlertJob, AlertSubscription
from node.alerts.render import PRIVATE_FIELDS
from node.alerts.sender import send_due_alerts
from node.content import callouts as co
from node.content import events as ev
from node.content.models import Callout, Event
from tests.support.nodes import Node
from tests.support.push_service import Subscriber

SOON = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
PRIVATE_VALUES = {
    "location_address": "5 Low Road, flat 2",
    "contact": "Signal: 07000 000000",
}


async def subscribe_push(
    node: Node, subscriber: Subscriber, scope: str = "callouts", *, federated: bool = False
) -> dict[str, Any]:
    answer = await node.client.post(
        "/alerts/push",
        json={"subscription": subscriber.to_json(), "scope": scope, "federated": federated},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def publish_callout(
    node: Node, *, title: str = "Eviction at 7am", urgency: str = "urgent"
) -> Callout:
    form = co.CalloutForm(
        title=title,
        needed="People at the door",
        people="20",
        until=f"{SOON} 09:00",
        urgency=urgency,
        contact=PRIVATE_VALUES["contact"],
        location="Tottenham",
        address=PRIVATE_VALUES["location_address"],
        timezone="Europe/London",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form)
    node.ctx.wake()
    return callout


async def set_callout_status(node: Node, callout_id: int, status: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        callout = await session.get(Callout, callout_id)
        assert callout is not None
        await co.set_status(node.ctx, session, callout, status)
    node.ctx.wake()


async def publish_event(node: Node, title: str = "Tenants' assembly") -> Event:
    form = ev.EventForm(
        title=title,
        start=f"{SOON} 19:00",
        end=f"{SOON} 21:00",
        timezone="Europe/London",
        location="Community Hall",
        address="1 High Street",
    )
    async with node.ctx.sessions() as session, session.begin():
        event = await ev.create_event(node.ctx, session, form)
    node.ctx.wake()
    return event


async def send_alerts(node: Node, *, later: timedelta = timedelta(0)) -> int:
    """One pass of the alert sender, as the worker runs it, ``later`` from now."""
    return await send_due_alerts(node.ctx, datetime.now(UTC) + later)


async def count_subscriptions(node: Node) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AlertSubscription)) or 0)


async def job_states(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        return list((await session.scalars(select(AlertJob.state).order_by(AlertJob.id))).all())


def assert_nothing_private(*texts: str) -> None:
    """No alert may carry what the callout keeps for the confirmed (``PRIVATE_FIELDS``)."""
    for name in PRIVATE_FIELDS:
        value = PRIVATE_VALUES.get(name)
        if value is None:
            continue
        for text in texts:
            assert value not in text, f"{name} leaked into an alert: {text!r}"
            assert not re.search(re.escape(value.split(",")[0]), text), name


def vapid_key_of(page_html: str) -> str:
    found = re.search(r'<meta name="vapid-key" content="([^"]+)">', page_html)
    assert found
    return found.group(1)
