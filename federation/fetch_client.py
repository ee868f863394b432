"""The transport of fetches (actors, keys, objects, WebFinger): aiohttp behind
netguard's rules, with connections kept alive per host.

Why aiohttp and not httpx: in a vote storm every new voter costs the node one
signed GET of its actor, and there httpx spent most of the fetch's CPU in its
pool (httpcore scans every pooled connection on each state change and polls
each idle socket for readability) and in anyio's stream layer; aiohttp parses
HTTP in C and costs about a third as much per request (bench/README.md, issue
18 parts 2 and 5). The deliveries moved to aiohttp for the same reason
(:mod:`federation.delivery_client`).

The rules, the same as every outbound client's (:mod:`federation.netguard`):

- https only, or http too when ``allow_private`` (tests, local development),
  and a host written as an address judged before anything is sent
  (:func:`federation.aioguard.check_target`), on every request: the caller
  follows redirects itself (:class:`federation.fetch.Fetcher`), one request
  per hop, so every hop is checked;
- a name is resolved by :class:`federation.aioguard.GuardedResolver`, which
  refuses the host when any answer is not public and hands aiohttp only the
  addresses it checked;
- no redirects followed here, no proxies or ``.netrc`` from the environment,
  no cookies; TLS verified against the same CA bundle (``make_ssl_context``),
  SNI and the certificate check on the URL's host name;
- bodies come as the server sent them (no automatic inflation): the caller
  inflates and caps them as it reads.

Keep-alive: fetches often go to one big server again and again (its actors,
then their keys, then objects), so connections stay open per host, at most
``max_per_host`` at once to one host and ``max_connections`` in all, and an
idle one is closed ``keepalive`` seconds after its last use (aiohttp's sweep
runs every ``keepalive`` seconds, so at most twice that): 4 s by default,
under the 5 s after which uvicorn, Node.js and Apache close theirs, so a
reused connection is rarely one the server is closing. aiohttp bounds the
connections in use, not the idle ones: those are at most ``max_per_host`` for
each host fetched from in that window. A GET whose connection drops before
its answer (a kept-alive one the server had closed, typically) is sent once
more by aiohttp, as RFC 9112 allows for idempotent requests.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

import aiohttp
import httpx
import yarl

from federation.aioguard import GuardedResolver, check_target
from federation.errors import FetchError
from federation.netguard import Resolver, make_ssl_context

SOCKET_TIMEOUTS = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=10.0)
"""Per-operation timeouts as Mastodon uses them; the caller adds a total deadline."""


class Signer(Protocol):
    """Signs a request: the headers to add to ``headers`` for ``method`` on ``url``
    (for instance the instance actor's HTTP signature, federation.cavage)."""

    def __call__(self, method: str, url: str, headers: Mapping[str, str]) -> Mapping[str, str]: ...


def wire_url(url: str) -> yarl.URL:
    """``url`` as it goes on the wire, percent-encoded the way httpx encodes it.

    The request target must be exactly the one the signature covers, and yarl's
    own quoting rewrites some targets (``%7E`` to ``~``, ``?a=%2F`` to ``?a=/``,
    ``%zz`` to ``%25zz``): so the URL is encoded once, as it always was, and
    handed to aiohttp as already encoded.
    """
    try:
        return yarl.URL(str(httpx.URL(url)), encoded=True)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(f"unusable URL {url!r}: {exc}", public_message="unusable URL") from exc


class FetchClient:
    """GETs under netguard's rules, one request per call (redirects are answers).

    Build it inside the event loop that uses it; the owner closes it with
    :meth:`aclose` (or ``async with``).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
        user_agent: str = "Tocsin",
        max_connections: int = 100,
        max_per_host: int = 8,
        keepalive: float = 4.0,
    ) -> None:
        self.allow_private = allow_private
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_private=allow_private, resolver=resolver),
            ssl=make_ssl_context(verify),
            limit=max_connections,
            limit_per_host=max_per_host,
            keepalive_timeout=keepalive,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=SOCKET_TIMEOUTS,
            headers={"User-Agent": user_agent},
            auto_decompress=False,  # the caller inflates under its size cap
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def get(
        self, url: str, headers: Mapping[str, str], *, signer: Signer | None = None
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """``async with client.get(url, headers) as response``: one GET, not redirected.

        ``signer`` signs the request for the exact URL sent. Raises
        :class:`~federation.errors.UnsafeTargetError` for a refused target (here,
        or from the resolver when the connection is made), ``FetchError`` for an
        unusable URL, and aiohttp's errors for network failures.
        """
        target = wire_url(url)
        check_target(target, allow_private=self.allow_private)
        if signer is not None:
            headers = {**headers, **signer("GET", str(target), headers)}
        return self._session.get(target, headers=headers, allow_redirects=False)

    async def aclose(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> FetchClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
