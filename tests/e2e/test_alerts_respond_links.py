"""The personal answer link's guarantees, against a real node: without a valid
token nothing counts and the page offers the alerts; a link works for its own
subscription and callout only, and not after unsubscribing; closed callouts
refuse answers; answering is rate limited; e-mail subscribers get the address
by e-mail; organisers see the answers, which are purged with the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from node.alerts.tokens import alert_actor, token_subscription_id
from node.content import callouts as co
from node.content.models import Callout
from node.content.responders import purge_responders
from tests.e2e.conftest import NodeFactory
from tests.support.admin import logged_in
from tests.support.alerts import send_alerts, set_callout_status, subscribe_push
from tests.support.push_service import PushService, push_service
from tests.support.respond import (
    SECRET,
    answer,
    path_of,
    personal_jobs,
    private_callout,
    responses,
    token_of,
)
from tests.support.smtp import Mailbox, link_in, smtp_server, text_of


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def respond_links(push: PushService, phone: str) -> dict[str, str]:
    """Each alert's title to its personal link."""
    return {m["title"]: m["url"] for m in push.messages(phone)}


async def test_without_a_valid_token_nothing_counts_and_the_page_offers_alerts(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("ann"))
    first = await private_callout(node, title="First")
    second = await private_callout(node, title="Second")
    await send_alerts(node)
    links = respond_links(push, "ann")
    mine, other = links["New callout: First"], links["New callout: Second"]
    path = path_of(mine)

    bare = await node.client.get(path)
    assert bare.status_code == 200 and 'href="/alerts"' in bare.text
    assert 'id="respond-form"' not in bare.text
    posted = await node.client.post(path, data={"option": "come"})
    assert posted.status_code == 403 and 'href="/alerts"' in posted.text
    forged = token_of(mine)[:-2] + ("AA" if not token_of(mine).endswith("AA") else "BB")
    for token in (forged, token_of(other), "1.x", "999999.abc", "x" * 300):
        page = await node.client.get(path, params={"t": token})
        assert page.status_code == 403, token
        assert "not valid" in page.text and 'id="respond-form"' not in page.text
        tried = await node.client.post(path, data={"t": token, "option": "come"})
        assert tried.status_code == 403 and 'href="/alerts"' in tried.text
    assert await responses(node, first) == [] and await responses(node, second) == []
    missing = await node.client.get("/callouts/99999/respond", params={"t": token_of(mine)})
    assert missing.status_code == 404

    bad = await node.client.post(path, data={"t": token_of(mine), "option": "maybe"})
    assert bad.status_code == 400 and "I can come" in bad.text
    long = await node.client.post(
        path, data={"t": token_of(mine), "option": "come", "name": "n" * 81}
    )
    assert long.status_code == 400 and "too long" in long.text
    cross = await node.client.post(
        path,
        data={"t": token_of(mine), "option": "come"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert await responses(node, first) == []
    assert (await answer(node, mine, "come")).status_code == 303
    assert len(await responses(node, first)) == 1


async def test_an_unsubscribed_link_is_refused_and_the_answer_stays_without_a_name(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    subscribed = await subscribe_push(node, push.subscriber("ann"))
    cid = await private_callout(node)
    await send_alerts(node)
    link = respond_links(push, "ann")["New callout: Eviction watch"]
    await answer(node, link, "come", name="Ann", reach="Signal 0700")
    stop = subscribed["unsubscribe"]
    assert (await node.client.post(path_of(stop), data={"t": token_of(stop)})).status_code == 200
    refused = await node.client.get(link)
    assert refused.status_code == 403 and "not valid" in refused.text
    again = await node.client.post(path_of(link), data={"t": token_of(link), "option": "help"})
    assert again.status_code == 403
    actor = alert_actor(token_subscription_id(token_of(link)) or 0)
    assert await responses(node, cid) == [(actor, "come", "confirmed")]  # still counted
    async with logged_in(node, "rosa", "editor") as editor:
        page = (await editor.get(f"/admin/callouts/{cid}/responses")).text
    assert "alert (since unsubscribed)" in page
    assert "Ann" not in page and "Signal 0700" not in page


async def test_a_closed_callout_says_so_and_refuses_answers(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("ann"))
    cid = await private_callout(node)
    await send_alerts(node)
    link = respond_links(push, "ann")["New callout: Eviction watch"]
    await set_callout_status(node, cid, "met")
    shown = await node.client.get(link)
    assert shown.status_code == 200 and "this callout is closed" in shown.text
    assert 'id="respond-form"' not in shown.text
    refused = await node.client.post(path_of(link), data={"t": token_of(link), "option": "come"})
    assert refused.status_code == 409 and "No answers are taken any more" in refused.text
    assert await responses(node, cid) == []
    await send_alerts(node)
    met = next(m for m in push.messages("ann") if m["title"].startswith("Met:"))
    assert "/respond" not in met["url"]  # a closed callout's alert links to its page


async def test_answering_is_rate_limited_per_client(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    cid = await private_callout(node)
    path = f"/callouts/{cid}/respond"
    statuses = [
        (await node.client.post(path, data={"t": f"1.{n}", "option": "come"})).status_code
        for n in range(31)
    ]
    assert statuses[:30] == [403] * 30
    assert statuses[30] == 429


async def test_an_email_subscriber_confirmed_by_their_answer_gets_the_address_by_email(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    address = "sam@example.org"
    assert (
        await node.client.post("/alerts/email", data={"email": address, "scope": "urgent"})
    ).status_code == 200
    await asyncio.sleep(0.2)
    confirm = link_in(mailbox.to(address)[-1], "/alerts/confirm")
    await node.client.post("/alerts/confirm", data={"t": token_of(confirm)})
    cid = await private_callout(node, people="1")
    await send_alerts(node)
    await asyncio.sleep(0.2)
    alert = mailbox.to(address)[-1]
    assert alert["Subject"] == "New callout: Eviction watch" and SECRET not in text_of(alert)
    link = link_in(alert, f"/callouts/{cid}/respond")
    assert (await answer(node, link, "come", name="Sam")).status_code == 303
    await send_alerts(node)
    await asyncio.sleep(0.2)
    [told] = [m for m in mailbox.to(address) if m["Subject"].startswith("You are confirmed")]
    assert told["Subject"] == "You are confirmed: Eviction watch"
    assert SECRET in text_of(told) and "Signal: 07000 000000" in text_of(told)
    subjects = [str(m["Subject"]) for m in mailbox.to(address)]
    assert "Enough people: Eviction watch" not in subjects  # they know their own place
    assert [s for s in subjects if SECRET in s] == []
    assert [s for s in subjects if s.startswith("You are confirmed")] == [told["Subject"]]
    for letter in mailbox.to(address):
        if letter is not told:
            assert SECRET not in text_of(letter), letter["Subject"]


async def test_organisers_see_alert_answers_and_the_purge_forgets_them(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("ann"))
    cid = await private_callout(node, people="1")
    await send_alerts(node)
    link = respond_links(push, "ann")["New callout: Eviction watch"]
    await answer(node, link, "come", name="Ann <b>", reach="Signal 0700")
    async with logged_in(node, "rosa", "editor") as editor:
        page = (await editor.get(f"/admin/callouts/{cid}/responses")).text
    assert "alert by push" in page and "Ann &lt;b&gt;" in page and "Signal 0700" in page
    assert "sent the address" in page
    assert "alert subscribers (no account)</span>: 1" in page
    public = await node.client.get(f"/callouts/{cid}")
    assert "Ann" not in public.text and "Signal 0700" not in public.text
    assert await personal_jobs(node, cid) == 1

    await set_callout_status(node, cid, "met")
    later = datetime.now(UTC) + timedelta(days=node.settings.retention_days + 3)
    async with node.ctx.sessions() as session:
        callout = await session.get(Callout, cid)
        assert callout is not None and callout.ended_at is not None
    assert await purge_responders(node.ctx, later) == 1
    assert await responses(node, cid) == []
    assert await personal_jobs(node, cid) == 0


async def test_deleting_a_callout_forgets_its_alert_answers(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("ann"))
    cid = await private_callout(node, people="1")
    await send_alerts(node)
    await answer(node, respond_links(push, "ann")["New callout: Eviction watch"], "come")
    assert await personal_jobs(node, cid) == 1
    async with node.ctx.sessions() as session, session.begin():
        callout = await session.get(Callout, cid)
        assert callout is not None
        await co.delete_callout(node.ctx, session, callout)
    assert await responses(node, cid) == []
    assert await personal_jobs(node, cid) == 0
