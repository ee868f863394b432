"""Requests signed with a key the node does not know yet, arriving together, share
one fetch of the signer's document (node/remote.py): a vote storm from new
accounts costs one fetch per account, however many of its requests overlap.

The fake server answers the actor document slowly, so every request is in
flight while the first fetch still waits; the server counts the GETs it served.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from starlette.responses import Response, StreamingResponse

from tests.e2e.conftest import NodeFactory
from tests.support.databases import migrated_database, postgres_url
from tests.support.fediverse import AS2, Account, FakeServer
from tests.support.nodes import free_port, http_node, make_settings

CONCURRENT = 12
DOCUMENT_DELAY = 0.5  # seconds the fake server takes to serve the actor document


def slowly(account: Account) -> Response:
    async def body() -> AsyncIterator[bytes]:
        await asyncio.sleep(DOCUMENT_DELAY)
        yield json.dumps(account.document()).encode()

    return StreamingResponse(body(), media_type=AS2)


def note(account: Account, n: int) -> dict[str, object]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": account.new_id(),
        "type": "Create",
        "actor": account.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": account.new_id("notes"),
            "type": "Note",
            "attributedTo": account.id,
            "content": f"<p>note {n}</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    }


async def test_concurrent_requests_from_an_unknown_actor_fetch_its_document_once(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("network")
    carol = fediverse.add_account("carol")
    path = f"/users/{carol.name}"
    fediverse.override[path] = lambda: slowly(carol)
    answers = await asyncio.gather(
        *(carol.post(f"{node.actor_id}/inbox", note(carol, n)) for n in range(CONCURRENT))
    )
    assert [a.status_code for a in answers] == [202] * CONCURRENT, [a.text for a in answers]
    assert fediverse.fetched.count(path) == 1
    # and later requests use the key it fetched, with no new fetch
    again = await carol.post(f"{node.actor_id}/inbox", note(carol, CONCURRENT))
    assert again.status_code == 202
    assert fediverse.fetched.count(path) == 1


async def test_a_failed_shared_fetch_refuses_every_waiting_request_and_is_not_repeated(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    node = await start_node("network")
    dan = fediverse.add_account("dan")
    path = f"/users/{dan.name}"

    def gone() -> Response:
        return Response(status_code=410)

    fediverse.override[path] = gone
    answers = await asyncio.gather(
        *(dan.post(f"{node.actor_id}/inbox", note(dan, n)) for n in range(CONCURRENT))
    )
    assert {a.status_code for a in answers} == {401}, [a.text for a in answers]
    assert fediverse.fetched.count(path) == 1


@pytest.mark.postgres
@pytest.mark.skipif(postgres_url() is None, reason="TOCSIN_TEST_POSTGRES_URL is not set")
async def test_two_processes_of_one_node_fetch_an_unknown_key_once(
    tmp_path: Path, fediverse: FakeServer
) -> None:
    """Two web processes of one node (one database, two event loops' worth of
    caches: here two app instances on two ports) receive copies of one unknown
    actor's activities at the same moment: the advisory lock lets one fetch."""
    carol = fediverse.add_account("carol")
    path = f"/users/{carol.name}"
    fediverse.override[path] = lambda: slowly(carol)
    async with AsyncExitStack() as stack:
        database_url = await stack.enter_async_context(migrated_database("postgres", tmp_path))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        first = await stack.enter_async_context(
            http_node(make_settings(tmp_path, database_url, base_url=base_url))
        )
        second_listen = f"127.0.0.1:{free_port()}"
        await stack.enter_async_context(
            http_node(
                make_settings(
                    tmp_path, database_url, base_url=base_url, TOCSIN_LISTEN=second_listen
                )
            )
        )
        inboxes = [f"{first.actor_id}/inbox", f"http://{second_listen}/inbox"]
        answers = await asyncio.gather(
            *(carol.post(inboxes[n % 2], note(carol, n)) for n in range(CONCURRENT))
        )
    assert [a.status_code for a in answers] == [202] * CONCURRENT, [a.text for a in answers]
    assert fediverse.fetched.count(path) == 1
