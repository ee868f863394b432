"""The answer page of an alert's personal link speaks the reader's language, as
the rest of the public site does: a Welsh browser gets the form, the answer it
gave, and the refusals (a link that is not valid, a choice that is not one) in
Welsh, against a real node with the real push service on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import NodeFactory
from tests.support.alerts import send_alerts, subscribe_push
from tests.support.push_service import PushService, push_service
from tests.support.respond import path_of, private_callout, responses, token_of

WELSH = {"Accept-Language": "cy-GB,cy;q=0.9,en;q=0.5"}


@pytest.fixture
async def push() -> AsyncIterator[PushService]:
    async with push_service() as service:
        yield service


async def test_the_answer_page_and_its_refusals_are_welsh_for_a_welsh_reader(
    start_node: NodeFactory, push: PushService
) -> None:
    node = await start_node("haringey", worker=False)
    await subscribe_push(node, push.subscriber("ann"))
    cid = await private_callout(node)
    await send_alerts(node)
    [link] = [m["url"] for m in push.messages("ann") if m["title"].endswith("Eviction watch")]
    path, token = path_of(link), token_of(link)

    shown = await node.client.get(link, headers=WELSH)
    assert shown.status_code == 200 and '<html lang="cy">' in shown.text
    assert shown.headers["content-language"] == "cy"
    for welsh in ("Ateb: Eviction watch", "Eich ateb", "Gallaf ddod", "Anfon fy ateb"):
        assert welsh in shown.text, welsh
    assert "<title>Ateb: Eviction watch" in shown.text
    assert "BRYS. Angen:" in shown.text and "(2 o bobl)" in shown.text
    for english in ("Your answer", "I can come", "Send my answer", "Needed:", "personal link"):
        assert english not in shown.text, english

    posted = await node.client.post(path, data={"t": token, "option": "come"}, headers=WELSH)
    assert posted.status_code == 303
    saved = await node.client.get(posted.headers["location"], headers=WELSH)
    assert "Diolch: mae eich ateb wedi" in saved.text
    assert "Eich ateb: Gallaf ddod. Rydych chi wedi&#39;ch cadarnhau" in saved.text
    assert "drwy hysbysiad gwthio" in saved.text and "You answered" not in saved.text

    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = await node.client.get(path, params={"t": forged}, headers=WELSH)
    assert refused.status_code == 403 and '<html lang="cy">' in refused.text
    assert "r ddolen ateb hon yn ddilys: cafodd ei newid" in refused.text
    assert "not valid" not in refused.text and 'id="respond-form"' not in refused.text
    tried = await node.client.post(path, data={"t": forged, "option": "help"}, headers=WELSH)
    assert tried.status_code == 403 and "yn ddilys" in tried.text

    wrong = await node.client.post(path, data={"t": token, "option": "maybe"}, headers=WELSH)
    assert wrong.status_code == 400 and "Dewiswch “Gallaf ddod” neu" in wrong.text
    assert [option for _, option, _ in await responses(node, cid)] == ["come"]

    english = await node.client.get(link, headers={"Accept-Language": "en"})
    assert "You answered: I can come. You are confirmed" in english.text
