"""A block holds whatever spelling of a Unicode host name the admin or the
attacker uses: hosts are compared as the HTTP clients encode them (IDNA 2008),
not as Python's IDNA 2003 codec does (``straße`` → ``strasse``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from federation.cavage import digest_header, http_date
from node.blocks import block_domain
from node.models import DomainBlock, InboundActivity, RemoteKey
from tests.e2e.conftest import NodeFactory
from tests.support.nodes import Node

AS2 = "application/activity+json"


async def block(node: Node, domain: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await block_domain(session, domain)
    node.ctx.blocks.invalidate()


async def post_from(node: Node, actor: str) -> tuple[int, str]:
    """A Follow from ``actor`` with well-formed signature headers (Date, Digest)
    but a signature made by no key: the block is checked before any key is
    fetched, so no key needs to exist (and none is)."""
    key_id = str(httpx.URL(f"{actor}#main-key"))  # headers are ASCII: the punycode form
    body = json.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor}#follow-1",
            "type": "Follow",
            "actor": actor,
            "object": node.actor_id,
        }
    ).encode()
    response = await node.client.post(
        f"{node.actor_id}/inbox",
        content=body,
        headers={
            "Content-Type": AS2,
            "Date": http_date(datetime.now(UTC)),
            "Digest": digest_header(body),
            "Signature": f'keyId="{key_id}",algorithm="rsa-sha256",'
            'headers="(request-target) host date digest",signature="AAAA"',
        },
    )
    return response.status_code, response.text


async def stored(node: Node) -> tuple[int, int]:
    async with node.ctx.sessions() as session:
        inbound = await session.scalar(select(func.count()).select_from(InboundActivity))
        keys = await session.scalar(select(func.count()).select_from(RemoteKey))
    return int(inbound or 0), int(keys or 0)


@pytest.mark.parametrize(
    ("blocked", "sender"),
    [
        ("xn--strae-oqa.example", "https://straße.example/users/mallory"),
        ("straße.example", "https://xn--strae-oqa.example/users/mallory"),
        ("xn--strae-oqa.example", "https://social.straße.example/users/mallory"),
    ],
    ids=["punycode-block-unicode-sender", "unicode-block-punycode-sender", "subdomain"],
)
async def test_block_cannot_be_bypassed_with_another_spelling_of_the_host(
    start_node: NodeFactory, blocked: str, sender: str
) -> None:
    node = await start_node()
    await block(node, blocked)
    status, text = await post_from(node, sender)
    assert status == 403, text
    assert json.loads(text) == {"error": "blocked"}
    assert await stored(node) == (0, 0)


async def test_typed_unicode_block_is_stored_as_the_host_clients_connect_to(
    start_node: NodeFactory,
) -> None:
    node = await start_node()
    await block(node, "Straße.Example")
    async with node.ctx.sessions() as session:
        domains = (await session.scalars(select(DomainBlock.domain))).all()
    assert domains == ["xn--strae-oqa.example"]  # not the IDNA 2003 "strasse.example"
    status, _ = await post_from(node, "https://strasse.example/users/someone-else")
    assert status != 403  # a different host, which the block must not cover
