"""Driving the admin UI over HTTP in tests: fetch a form, keep its CSRF token, post it."""

from __future__ import annotations

import re

import httpx

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str | None = None, **fields: str
) -> httpx.Response:
    """GET ``page`` for its token, then POST ``fields`` to ``action`` (default: the page)."""
    form_page = await client.get(page)
    return await client.post(action or page, data={"csrf_token": csrf_of(form_page.text), **fields})


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await post_form(client, "/admin/login", username=username, password=password)
