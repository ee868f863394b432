"""The HTTP client of the delivery hot path: aiohttp behind netguard's rules.

Why not httpx: a fan-out is hundreds of POSTs at once, and there httpx costs
about three times what aiohttp does (bench/README.md, fan-out floors: httpcore
makes locks and polls every pooled socket on each request). aiohttp is well
kept, parses HTTP in C, and its connector takes a resolver object, which is
where netguard's rule goes (:mod:`federation.aioguard`, shared with the
fetches' :class:`federation.fetch_client.FetchClient`).

The rules, the same as every outbound client's (:mod:`federation.netguard`):

- https only, or http too when ``allow_private`` (tests, local development);
- a name is resolved by :class:`~federation.aioguard.GuardedResolver`, which
  refuses the host when any answer is not a public address and hands aiohttp
  only the addresses it checked, so aiohttp dials exactly those (no second
  lookup, no rebinding); aiohttp never asks a resolver about IP literals, so
  :meth:`DeliveryClient.post` judges those itself before anything is sent;
- no redirects, no proxies or ``.netrc`` from the environment, no cookies;
- TLS verified against the same CA bundle as fetches, SNI and the certificate
  check use the URL's host name, not the address dialled;
- one total deadline per POST; of an answer only the status, ``Retry-After``
  and, for an error, the first bytes of the body are read.

Connections are not kept alive: a fan-out sends one POST to each of many
servers, so idle connections would only hold one file descriptor per server.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import yarl

from federation.aioguard import GuardedResolver, check_target
from federation.errors import UnsafeTargetError
from federation.netguard import Resolver, make_ssl_context

DEFAULT_DEADLINE = 30.0
"""Seconds for one POST, from the first DNS lookup to the last byte read."""

ERROR_TEXT_LIMIT = 500
"""Characters of an error answer's body kept (and bytes read: four times as many)."""

_SOCKET_TIMEOUTS = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=10.0)


@dataclass(frozen=True)
class PostAnswer:
    """What a server answered: its status, ``Retry-After``, and for a non-2xx
    the start of its body as text (at most ``ERROR_TEXT_LIMIT`` characters)."""

    status: int
    retry_after: str | None
    error_text: str | None


class DeliveryClient:
    """Signed-POST transport for deliveries. Build it inside the event loop that
    uses it; the owner closes it with :meth:`aclose` (or ``async with``)."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
        user_agent: str = "Tocsin",
        max_connections: int = 200,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.allow_private = allow_private
        self.deadline = deadline
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(allow_private=allow_private, resolver=resolver),
            ssl=make_ssl_context(verify),
            limit=max_connections,
            force_close=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=_SOCKET_TIMEOUTS,
            headers={"User-Agent": user_agent},
            skip_auto_headers=("Accept-Encoding",),  # answers come as sent: the read cap holds
            auto_decompress=False,
            trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    def target(self, url: str) -> yarl.URL:
        """``url`` parsed as it will be sent, once checked (:func:`check_target`);
        ``UnsafeTargetError`` when it is refused or does not parse."""
        try:
            target = yarl.URL(url)
        except ValueError as exc:
            raise UnsafeTargetError(f"unparseable URL {url!r}: {exc}") from exc
        check_target(target, allow_private=self.allow_private)
        return target

    async def post(self, url: str | yarl.URL, body: bytes, headers: dict[str, str]) -> PostAnswer:
        """POST ``body`` to ``url`` with exactly ``headers`` (plus User-Agent).

        ``url`` is checked here (a ``yarl.URL`` is checked again: the guard does
        not rely on the caller). Raises :class:`UnsafeTargetError` for a refused
        target, ``TimeoutError`` past the deadline, ``aiohttp.ClientError`` or
        ``OSError`` for network failures. Redirects are answers like any other
        status.
        """
        if isinstance(url, yarl.URL):
            target = url
            check_target(target, allow_private=self.allow_private)
        else:
            target = self.target(url)
        async with (
            asyncio.timeout(self.deadline),
            self._session.post(target, data=body, headers=headers, allow_redirects=False) as answer,
        ):
            error_text = None
            if not 200 <= answer.status < 300:
                error_text = await _read_start(answer.content, ERROR_TEXT_LIMIT)
            return PostAnswer(answer.status, answer.headers.get("Retry-After"), error_text)

    async def aclose(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> DeliveryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _read_start(stream: aiohttp.StreamReader, chars: int) -> str:
    """The first ``chars`` characters of a body, reading at most ``4 * chars`` bytes."""
    budget = 4 * chars
    data = b""
    while len(data) < budget:
        chunk = await stream.read(budget - len(data))
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")[:chars]
