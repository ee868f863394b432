"""E-mail alerts through a real SMTP server on loopback (aiosmtpd): double
opt-in, the unsubscribe link and header, rate limits, and a node without SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import NodeFactory
from tests.support.alerts import (
    assert_nothing_private,
    count_subscriptions,
    publish_callout,
    send_alerts,
)
from tests.support.nodes import Node
from tests.support.smtp import Mailbox, link_in, smtp_server, text_of

ADDRESS = "sam@example.org"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


async def ask(node: Node, address: str = ADDRESS, scope: str = "urgent") -> int:
    answer = await node.client.post("/alerts/email", data={"email": address, "scope": scope})
    return answer.status_code


async def settle() -> None:
    await asyncio.sleep(0.2)  # aiosmtpd hands messages over from its own thread


async def confirm(node: Node, mailbox: Mailbox, address: str = ADDRESS) -> str:
    """Follow the confirmation link as a person would: open it, press Confirm."""
    link = link_in(mailbox.to(address)[-1], "/alerts/confirm")
    opened = await node.client.get(link)
    assert opened.status_code == 200 and "Confirm</button>" in opened.text
    token = link.split("t=", 1)[1]
    confirmed = await node.client.post("/alerts/confirm", data={"t": token})
    assert confirmed.status_code == 200 and "Subscribed" in confirmed.text
    return token


async def test_nothing_is_sent_before_the_confirmation_link_is_followed_once(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    assert await ask(node) == 200
    await settle()
    [letter] = mailbox.to(ADDRESS)
    assert letter["Subject"].startswith("Confirm alerts from")
    await publish_callout(node, title="Before confirming")
    await send_alerts(node)
    await settle()
    assert len(mailbox.to(ADDRESS)) == 1  # still only the confirmation
    token = await confirm(node, mailbox)
    again = await node.client.post("/alerts/confirm", data={"t": token})
    assert again.status_code == 404  # the link works once
    callout = await publish_callout(node)
    await send_alerts(node)
    await settle()
    alert = mailbox.to(ADDRESS)[-1]
    assert alert["Subject"] == "New callout: Eviction at 7am"
    body = text_of(alert)
    assert callout.url in body and "Area: Tottenham" in body
    assert_nothing_private(body, str(alert["Subject"]))
    stop = link_in(alert, "/alerts/unsubscribe")
    assert alert["List-Unsubscribe"] == f"<{stop}>"
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_one_click_unsubscribe_from_the_header_stops_alerts(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    await ask(node)
    await settle()
    await confirm(node, mailbox)
    await publish_callout(node)
    await send_alerts(node)
    await settle()
    header = str(mailbox.to(ADDRESS)[-1]["List-Unsubscribe"]).strip("<>")
    # RFC 8058: the mail client POSTs this body to the header's URL
    done = await node.client.post(header, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert await count_subscriptions(node) == 0
    before = len(mailbox.messages)
    await publish_callout(node, title="After")
    await send_alerts(node)
    await settle()
    assert len(mailbox.messages) == before


async def test_an_urgent_only_subscriber_gets_no_soon_callout_by_mail(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    await ask(node, scope="urgent")
    await ask(node, "all@example.org", scope="callouts")
    await settle()
    await confirm(node, mailbox)
    await confirm(node, mailbox, "all@example.org")
    await publish_callout(node, title="Not urgent", urgency="soon")
    await send_alerts(node)
    await settle()
    assert [m["Subject"] for m in mailbox.to(ADDRESS)][1:] == []
    assert mailbox.to("all@example.org")[-1]["Subject"] == "New callout: Not urgent"


async def test_confirmation_mails_are_limited_per_address_and_per_client(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    assert [await ask(node) for _ in range(4)] == [200, 200, 200, 429]
    await settle()
    assert len(mailbox.to(ADDRESS)) == 3
    statuses = [await ask(node, f"n{i}@example.org") for i in range(8)]
    assert statuses == [200] * 6 + [429] * 2  # 10 requests an hour from one client
    page = await node.client.post("/alerts/email", data={"email": "x@example.org"})
    assert page.status_code == 400  # a form without a scope is refused first, not counted


async def test_a_bad_address_is_refused_with_the_form_shown_again(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node("haringey", worker=False, TOCSIN_SMTP_URL=mailbox.url)
    answer = await node.client.post(
        "/alerts/email", data={"email": "not an address", "scope": "urgent"}
    )
    assert answer.status_code == 400
    assert "does not look like an e-mail address" in answer.text
    assert 'value="not an address"' in answer.text
    assert await count_subscriptions(node) == 0


async def test_without_smtp_the_page_offers_push_only(start_node: NodeFactory) -> None:
    node = await start_node("haringey", worker=False)
    page = await node.client.get("/alerts")
    assert page.status_code == 200
    assert "alerts come by push only" in page.text
    assert 'action="/alerts/email"' not in page.text
    answer = await node.client.post("/alerts/email", data={"email": ADDRESS, "scope": "urgent"})
    assert answer.status_code == 404
    assert "does not send e-mail" in answer.text
