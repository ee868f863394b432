"""What a node sends speaks its default language (TOCSIN_LANGUAGE), whoever
asked: alert e-mails (the worker has no reader), and the words that federate,
tagged with contentMap/summaryMap. Incoming objects with only a language map
are understood."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from node.ap.parse import note_columns
from node.ap.remote_events import as_event_to_remote_event
from tests.e2e.conftest import NodeFactory
from tests.support.alerts import send_alerts
from tests.support.fediverse import FakeServer
from tests.support.published import publish_callout, publish_event
from tests.support.smtp import Mailbox, link_in, smtp_server, text_of

AS2 = "application/activity+json"
DASH = "\u2013"  # en dash
ADDRESS = "sam@example.org"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


async def test_an_alert_email_is_written_in_the_node_language(
    start_node: NodeFactory, mailbox: Mailbox
) -> None:
    node = await start_node(
        "caerdydd", worker=False, TOCSIN_SMTP_URL=mailbox.url, TOCSIN_LANGUAGE="cy"
    )
    # the reader asks in English: the confirmation answers them in the page's language
    asked = await node.client.post(
        "/alerts/email",
        data={"email": ADDRESS, "scope": "urgent"},
        headers={"Accept-Language": "en"},
    )
    assert asked.status_code == 200 and "Check your inbox" in asked.text
    await asyncio.sleep(0.2)
    [confirmation] = mailbox.to(ADDRESS)
    assert confirmation["Subject"].startswith("Confirm alerts from")
    token = link_in(confirmation, "/alerts/confirm").split("t=", 1)[1]
    done = await node.client.post("/alerts/confirm", data={"t": token})
    assert done.status_code == 200 and "Wedi tanysgrifio" in done.text  # no Accept-Language
    callout = await publish_callout(node)
    await send_alerts(node)
    await asyncio.sleep(0.2)
    alert = mailbox.to(ADDRESS)[-1]
    assert alert["Subject"] == "Galwad newydd: Eviction at 7am"
    body = text_of(alert)
    assert "BRYS. Mae angen pobl." in body
    assert "Angen: People at the door (20 o bobl)" in body
    # our own open callout: the personal answer link first, then the public page
    assert "Ateb (eich dolen bersonol, peidiwch â'i hanfon ymlaen): " in body
    assert link_in(alert, f"/callouts/{callout.id}/respond?t=")
    assert f"Manylion: {callout.url}" in body
    assert "Pryd: o " in body and " tan " in body
    assert "I'w hatal: " in body and link_in(alert, "/alerts/unsubscribe")


async def test_outgoing_creates_carry_the_node_language_in_language_maps(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("caerdydd", TOCSIN_LANGUAGE="cy")
    alice = fediverse.add_account("alice")
    await alice.post(f"{node.actor_id}/inbox", alice.follow(node.actor_id))
    await fediverse.wait_for(lambda r: r.activity["type"] == "Accept")

    await publish_callout(node)
    create = await fediverse.wait_for(
        lambda r: r.activity["type"] == "Create" and r.activity["object"]["type"] == "Question"
    )
    question = create.activity["object"]
    assert question["contentMap"] == {"cy": question["content"]}
    assert "<strong>BRYS</strong>: Eviction at 7am" in question["content"]
    assert "Angen: People at the door — angen 20 o bobl" in question["content"]
    assert [option["name"] for option in question["oneOf"]] == [
        "Gallaf ddod",
        "Gallaf helpu mewn ffordd arall",
    ]

    event = await publish_event(node)
    create = await fediverse.wait_for(
        lambda r: r.activity["type"] == "Create" and r.activity["object"]["type"] == "Event"
    )
    doc = create.activity["object"]
    assert doc["summaryMap"] == {"cy": doc["summary"]}
    assert f"19:00{DASH}21:00 (Europe/London)" in doc["summary"]
    assert doc["contentMap"] == {"cy": doc["content"]}
    # the object fetched by a reader of another language is the same document
    fetched = await node.client.get(event.uri, headers={"Accept": AS2, "Accept-Language": "es"})
    assert fetched.json()["summaryMap"] == {"cy": doc["summary"]}


def test_an_incoming_object_with_only_a_language_map_is_understood() -> None:
    note = note_columns(
        {"id": "https://x.example/notes/1", "type": "Note", "contentMap": {"es": "<p>Hola</p>"}}
    )
    assert note["content_html"] == "<p>Hola</p>"
    event = as_event_to_remote_event(
        {
            "id": "https://x.example/events/1",
            "type": "Event",
            "attributedTo": "https://x.example/users/a",
            "nameMap": {"cy": "Cyfarfod"},
            "summaryMap": {"cy": "Nos Fawrth"},
            "contentMap": {"cy": "<p>Dewch</p>"},
            "startTime": "2030-02-05T19:00:00Z",
            "endTime": "2030-02-05T21:00:00Z",
        }
    )
    assert event["title"] == "Cyfarfod" and event["summary_text"] == "Nos Fawrth"
    assert event["description_html"] == "<p>Dewch</p>"
