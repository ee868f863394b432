"""Well-signed activities the node can never store are refused once, the same
way on SQLite and PostgreSQL, so their senders stop retrying them.

Values JSON allows but a database refuses (a number that overflows to
infinity, a lone UTF-16 surrogate, a NUL) get a 400 naming the problem rather
than a ``503 Retry-After`` every time. A string too long for its column (an
``inReplyTo`` of 100 KB) is accepted, then dropped after one attempt with its
reason, rather than failing with a traceback and being retried for days.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from node.content.models import RemoteNote
from node.models import InboundActivity
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.clients import loopback_client
from tests.support.fediverse import Account, FakeServer
from tests.support.following import be_followed_by
from tests.support.nodes import Node

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MARK = "__unstorable__"


def note_create(account: Account, **note: Any) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": account.new_id(),
        "type": "Create",
        "actor": account.id,
        "to": [PUBLIC],
        "object": {
            "id": account.new_id("notes"),
            "type": "Note",
            "attributedTo": account.id,
            "content": "<p>Meeting moved to the library</p>",
            "to": [PUBLIC],
            **note,
        },
    }


async def post_body(account: Account, node: Node, body: bytes) -> httpx.Response:
    url = f"{node.actor_id}/inbox"
    async with loopback_client() as client:
        return await client.post(url, content=body, headers=account.signed_headers(url, body))


async def recorded(node: Node) -> int:
    async with node.ctx.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundActivity)) or 0)


async def processed(node: Node, activity_id: str) -> InboundActivity:
    """The recorded activity once it is no longer waiting to be processed."""
    found: InboundActivity | None = None

    async def settled() -> bool:
        nonlocal found
        async with node.ctx.sessions() as session:
            found = await session.scalar(
                select(InboundActivity).where(InboundActivity.uri == activity_id)
            )
        return found is not None and found.state != "pending"

    await eventually(settled, timeout=10)
    assert found is not None
    return found


# (what replaces the quoted MARK in the JSON text, the 400's message)
UNSTORABLE = {
    "number-overflowing-to-infinity": ("1e400", "numbers must be finite"),
    "negative-number-overflowing": ("-1e400", "numbers must be finite"),
    "lone-high-surrogate": ('"a\\ud800b"', "strings must be valid Unicode"),
    "lone-low-surrogate": ('"\\udfff"', "strings must be valid Unicode"),
    "lone-surrogate-in-a-key": ('{"\\ud800": 1}', "strings must be valid Unicode"),
    "nul-character": ('"a\\u0000b"', "JSON string contains a NUL character"),
}


@pytest.mark.parametrize(("value", "message"), UNSTORABLE.values(), ids=UNSTORABLE.keys())
async def test_signed_activity_with_a_value_no_database_stores_is_refused_with_400(
    start_node: NodeFactory, fediverse: FakeServer, value: str, message: str
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    text = json.dumps(note_create(alice, sensitive=MARK))
    response = await post_body(alice, node, text.replace(json.dumps(MARK), value).encode())
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}
    assert "retry-after" not in response.headers
    assert await recorded(node) == 0
    # the sender's next, storable activity goes through as usual
    good = note_create(alice, sensitive=False)
    assert (await post_body(alice, node, json.dumps(good).encode())).status_code == 202
    assert (await processed(node, good["id"])).state == "done"
    assert await recorded(node) == 1


def bell_as_surrogate_escapes() -> str:
    return json.dumps("\U0001f514")  # '"\\ud83d\\udd14"': the bell, written as JSON escapes


async def test_surrogate_pair_escapes_of_one_character_are_accepted(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    """The control for the surrogate refusals: a paired escape is a real character."""
    node = await start_node()
    alice = fediverse.add_account("alice")
    text = json.dumps(note_create(alice, summary=MARK))
    body = text.replace(json.dumps(MARK), bell_as_surrogate_escapes()).encode()
    assert b"\\ud83d\\udd14" in body
    assert (await post_body(alice, node, body)).status_code == 202


async def test_reply_to_a_url_too_long_for_any_column_is_dropped_once_without_a_traceback(
    start_node: NodeFactory, fediverse: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    node = await start_node()
    alice = fediverse.add_account("alice")
    await be_followed_by(node, alice)
    caplog.set_level(logging.INFO)
    long_reply = note_create(alice, inReplyTo="http://elsewhere.example/" + "a" * 100_000)
    assert (await post_body(alice, node, json.dumps(long_reply).encode())).status_code == 202

    row = await processed(node, long_reply["id"])
    assert (row.state, row.attempts, row.locked_until) == ("failed", 1, None)
    assert row.error is not None and "inReplyTo" in row.error
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    # the same note with a reply-to of ordinary length is kept
    reply = note_create(alice, inReplyTo="http://elsewhere.example/notes/1")
    assert (await post_body(alice, node, json.dumps(reply).encode())).status_code == 202
    assert (await processed(node, reply["id"])).state == "done"
    async with node.ctx.sessions() as session:
        notes = (await session.scalars(select(RemoteNote.in_reply_to))).all()
    assert notes == ["http://elsewhere.example/notes/1"]
