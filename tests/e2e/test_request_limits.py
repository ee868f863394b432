"""Bodies outside the inboxes are capped before they are read: a flood of
large POSTs at the login form is refused at a few kilobytes' cost each."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx

from node.web.limits import MAX_BODY
from tests.e2e.conftest import NodeFactory
from tests.support.admin import login
from tests.support.clients import loopback_client

MB = 1_048_576


async def raw_response_head(base_url: str, request: bytes) -> bytes:
    """Send ``request`` as written and read what comes back first."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            return await reader.read(4096)
    finally:
        writer.close()


async def test_large_login_post_is_refused_with_413_before_its_body_is_sent(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    host = urlsplit(node.base_url).netloc
    head = (
        f"POST /admin/login HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {MB}\r\n\r\n"
    ).encode()
    answer = await raw_response_head(node.base_url, head)  # no body sent at all
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"limited to 64 KB" in answer


async def test_chunked_form_without_length_is_cut_off_at_the_cap(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    host = urlsplit(node.base_url).netloc
    chunk = b"x" * (MAX_BODY // 4)
    request = (
        f"POST /admin/login HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode() + (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 5  # no last chunk
    answer = await raw_response_head(node.base_url, request)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"limited to 64 KB" in answer


async def test_flood_of_large_login_posts_leaves_the_owner_able_to_log_in(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    body = b"username=admin&password=" + b"x" * MB

    async def one(client: httpx.AsyncClient) -> int:
        response = await client.post(
            "/admin/login",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return response.status_code

    async with loopback_client(base_url=node.base_url) as flood:
        statuses = await asyncio.gather(*(one(flood) for _ in range(40)))
    assert set(statuses) == {413}
    assert node.admin_password is not None
    response = await login(node.client, "admin", node.admin_password)
    assert response.status_code in (302, 303), response.text


async def test_small_form_under_the_cap_still_reaches_the_application(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    response = await node.client.post(
        "/admin/login",
        content=b"username=admin&password=" + b"x" * (MAX_BODY - 100),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 403  # refused by the form's CSRF check, as before
