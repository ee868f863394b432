"""Fixtures shared by the federation tests: RSA keys, made once per module, and a
loopback site with a fetcher that reaches it (tests/support/site.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.routing import Route

from federation.fetch import Fetcher
from federation.fetch_client import FetchClient
from tests.support.site import RESOLVER, Site, serve


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def running_site() -> AsyncIterator[Site]:
    site = Site()
    app = Starlette(routes=[Route("/{path:path}", site.dispatch)])
    async with serve(app) as port:
        site.port = port
        yield site


@pytest.fixture
def site(running_site: Site) -> Site:
    running_site.routes.clear()
    running_site.seen.clear()
    return running_site


@pytest_asyncio.fixture(loop_scope="module")
async def client() -> AsyncIterator[FetchClient]:
    async with FetchClient(allow_private=True, resolver=RESOLVER) as client:
        yield client


@pytest.fixture
def fetcher(client: FetchClient) -> Fetcher:
    return Fetcher(client, deadline=2.0)
