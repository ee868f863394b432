"""Hostile input never gets a 5xx: a fixed, seeded corpus thrown at a real node.

Mutated activities (validly signed, so they reach the parser and the handlers),
hostile headers on inbox POSTs, and hostile paths and query strings on the GET
routes. Afterwards: no 5xx, an inbox row only for what was answered 202, and
the node still accepts an ordinary Follow.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from node.models import InboundActivity
from tests.e2e.conftest import NodeFactory
from tests.support.clients import loopback_client
from tests.support.fediverse import Account, FakeServer
from tests.support.nodes import Node

SEED = 20240611
Mutation = Callable[[random.Random, dict[str, Any], Account], Any]
HOSTILE_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**70,
    -(2**70),
    1e308,
    "",
    "\x00",
    "\ud800",
    "x" * 70_000,
    [],
    {},
    [[[]]],
    {"id": None},
    "http://",
    "http://[::1",
    "javascript:alert(1)",
    "http://elsewhere.example/x",
    "https://www.w3.org/ns/activitystreams#Public",
]


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"object": value}
    return value


def remove_field(rng: random.Random, doc: dict[str, Any], _: Account) -> Any:
    doc.pop(rng.choice(sorted(doc)), None)
    return doc


def swap_type(rng: random.Random, doc: dict[str, Any], _: Account) -> Any:
    doc[rng.choice(sorted(doc))] = rng.choice(HOSTILE_VALUES)
    return doc


def deepen(rng: random.Random, doc: dict[str, Any], _: Account) -> Any:
    doc["object"] = nested(rng.choice([10, 60, 200]))
    return doc


def retarget(rng: random.Random, doc: dict[str, Any], account: Account) -> Any:
    field = rng.choice(["id", "actor", "object"])
    doc[field] = rng.choice(
        [
            "http://elsewhere.example/users/x",
            f"{account.server.base}/users/nobody",
            account.id,
            f"{account.id}#frag",
            f"{account.server.base}/../etc",
        ]
    )
    return doc


def change_kind(rng: random.Random, doc: dict[str, Any], _: Account) -> Any:
    doc["type"] = rng.choice(
        [
            "Undo",
            "Accept",
            "Reject",
            "Delete",
            "Update",
            "Create",
            "Announce",
            "Block",
            "Move",
            "Like",
            ["Create", "Update"],
            "",
            "Tombstone",
            "Follow",
        ]
    )
    return doc


def not_an_object(rng: random.Random, doc: dict[str, Any], _: Account) -> Any:
    return rng.choice([[doc], "string", 42, None, [], nested(30)])


MUTATIONS: list[Mutation] = [remove_field, swap_type, deepen, retarget, change_kind, not_an_object]


def base_activity(rng: random.Random, account: Account, node: Node) -> dict[str, Any]:
    note = {
        "id": account.new_id("notes"),
        "type": "Note",
        "attributedTo": account.id,
        "content": "<p>hello</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    kind = rng.choice(["Follow", "Create", "Undo", "Update", "Delete"])
    obj: Any = node.actor_id if kind == "Follow" else note
    if kind == "Undo":
        obj = account.follow(node.actor_id)
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": account.new_id(),
        "type": kind,
        "actor": account.id,
        "object": obj,
        "to": [node.actor_id],
    }


def mutated_activities(rng: random.Random, account: Account, node: Node, count: int) -> list[Any]:
    corpus = []
    for _ in range(count):
        doc: Any = base_activity(rng, account, node)
        for mutation in rng.sample(MUTATIONS, rng.randint(1, 2)):
            doc = mutation(rng, doc, account) if isinstance(doc, dict) else doc
        corpus.append(copy.deepcopy(doc))
    return corpus


def hostile_headers(rng: random.Random, signed: dict[str, str]) -> list[tuple[bytes, bytes]]:
    pairs = [(k.encode(), v.encode()) for k, v in signed.items()]
    attack = rng.randrange(6)
    if attack == 0:
        return [*pairs, (b"X-Anything", rng.choice([b"caf\xc3\xa9", b"\xff", b"\xe9t\xe9"]))]
    if attack == 1:
        return [*pairs, *[(b"Signature", v) for k, v in pairs if k.lower() == b"signature"]]
    if attack == 2:
        return [*pairs, (b"X-Giant", b"a" * rng.choice([4000, 60_000]))]
    name = {3: b"Date", 4: b"Digest", 5: b"Signature"}[attack]
    junk = rng.choice(
        [
            b"",
            b"junk",
            b"\x01",
            b"SHA-256=!!!",
            b"Tue, 99 Foo 99999 99:99:99 GMT",
            b'keyId="x",signature="y"',
            b"=" * 500,
            "é".encode(),
        ]
    )
    return [(k, v) for k, v in pairs if k.lower() != name.lower()] + [(name, junk)]


GET_TARGETS = [
    "/",
    "/calendar",
    "/callouts",
    "/events.ics",
    "/calendar.ics",
    "/events.atom",
    "/callouts.atom",
    "/actor",
    "/actor/outbox",
    "/actors/network",
    "/actors/network/outbox",
    "/actors/network/followers",
    "/actors/network/following",
    "/actors/network/events",
    "/.well-known/webfinger",
    "/.well-known/nodeinfo",
    "/nodeinfo/2.1",
]
HOSTILE_PATHS = [
    "/%00",
    "/%ff",
    "/..",
    "/../../etc/passwd",
    "/events/%00",
    "/events/%ff",
    "/calendar/events/..%2f..%2f",
    "/tags/%ff%fe",
    "/tags/" + "a" * 5000,
    "/activities/" + "z" * 3000,
    "/actors/%00/inbox",
    "/callouts/-1",
    "/events/99999999999999999999",
]
HOSTILE_QUERIES = [
    "page=99999999999999999999999",
    "page=-1",
    "page=%00",
    "page=%ff",
    "page=1e999",
    "resource=%00",
    "resource=acct:%ff@x",
    "month=9999-99",
    "month=%ff",
    "before=-99999999999",
    "q=" + "x" * 8000,
    "page=1&page=2",
    "=&&=",
    "%",
]


def hostile_gets() -> list[str]:
    """Every GET route with every hostile query string, and the hostile paths."""
    targets = [f"{path}?{query}" for path in GET_TARGETS for query in HOSTILE_QUERIES]
    return [*targets, *HOSTILE_PATHS]


async def raw_get(node: Node, target: str) -> int:
    """A GET sent byte for byte (httpx would normalise ``..`` and escapes)."""
    host, port = node.settings.listen_host, node.settings.listen_port
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/html\r\nConnection: close\r\n\r\n".encode("latin-1")
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_hostile_activities_headers_and_paths_get_no_5xx_and_leave_no_trace(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    rng = random.Random(SEED)
    node = await start_node()
    alice = fediverse.add_account("alice")
    inbox = f"{node.actor_id}/inbox"
    accepted: set[str] = set()
    failures: list[str] = []
    async with loopback_client() as client:
        for doc in mutated_activities(rng, alice, node, 80):
            body = json.dumps(doc).encode()
            response = await client.post(
                inbox, content=body, headers=alice.signed_headers(inbox, body)
            )
            if response.status_code >= 500:
                failures.append(f"POST inbox {body[:200]!r}: {response.status_code}")
            if response.status_code == 202 and isinstance(doc, dict):
                accepted.add(str(doc.get("id")))
        for _ in range(40):
            doc = alice.follow(node.actor_id)
            body = json.dumps(doc).encode()
            headers = hostile_headers(rng, alice.signed_headers(inbox, body))
            response = await client.post(inbox, content=body, headers=headers)
            if response.status_code >= 500:
                failures.append(f"POST inbox headers {headers!r:.300}: {response.status_code}")
            if response.status_code == 202:
                accepted.add(doc["id"])
    for target in hostile_gets():
        status = await raw_get(node, target)
        if status >= 500:
            failures.append(f"GET {target}: {status}")
    assert failures == []
    async with node.ctx.sessions() as session:
        recorded = set((await session.scalars(select(InboundActivity.uri))).all())
    assert recorded <= accepted
    follow = alice.follow(node.actor_id)
    assert (await alice.post(inbox, follow)).status_code == 202
    accept = await fediverse.wait_for(
        lambda r: r.activity["type"] == "Accept" and r.activity["object"]["id"] == follow["id"]
    )
    assert urlsplit(accept.signer_key_id).netloc == urlsplit(node.base_url).netloc
