"""Callouts from followed networks alert only the subscribers who chose
"also from the networks this one follows": two real nodes on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import NodeFactory, eventually
from tests.support.alerts import (
    assert_nothing_private,
    publish_callout,
    publish_event,
    set_callout_status,
    subscribe_push,
)
from tests.support.following import follow_and_wait
from tests.support.push_service import PushService, push_service


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


async def test_a_followed_networks_callout_alerts_only_who_chose_other_networks(
    start_node: NodeFactory, push: PushService
) -> None:
    origin, here = await start_node("haringey"), await start_node("hackney")
    await follow_and_wait(here, origin)
    await subscribe_push(here, push.subscriber("wide"), "everything", federated=True)
    await subscribe_push(here, push.subscriber("local"), "everything", federated=False)
    await subscribe_push(origin, push.subscriber("origin"), "urgent")
    callout = await publish_callout(origin)
    await publish_event(origin, title="Their assembly")

    async def arrived() -> bool:
        return len(push.messages("wide")) == 2 and len(push.messages("origin")) == 1

    await eventually(arrived)
    await set_callout_status(origin, callout.id, "cancelled")

    async def cancelled() -> bool:
        return len(push.messages("wide")) == 3

    await eventually(cancelled)
    wide = {m["title"]: m for m in push.messages("wide")}
    assert set(wide) == {
        "New callout: Eviction at 7am",
        "New event: Their assembly",
        "Cancelled: Eviction at 7am",
    }
    alert = wide["New callout: Eviction at 7am"]
    assert f"From the network at {origin.settings.host}" in alert["body"]
    assert alert["url"].startswith(f"{here.base_url}/calendar/callouts/")  # this node's copy
    assert_nothing_private(*(str(m) for m in push.messages("wide")))
    assert push.messages("local") == []
    assert push.refused == []
