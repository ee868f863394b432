"""The HTTP client of the delivery hot path: aiohttp behind netguard's rules.

Why not the httpx client that fetches use: a fan-out is hundreds of POSTs at
once, and there httpx costs about three times what aiohttp does (bench/README.md,
fan-out floors: httpcore makes locks and polls every pooled socket on each
request). aiohttp is well kept, parses HTTP in C, and its connector takes a
resolver object, which is where netguard's rule goes.

The rules, the same as :func:`federation.netguard.make_client`'s:

- https only, or http too when ``allow_private`` (tests, local development);
- a name is resolved by :class:`GuardedResolver`, which refuses the host when
  any answer is not a public address and hands aiohttp only the addresses it
  checked, so aiohttp dials exactly those (no second lookup, no rebinding);
  aiohttp never asks a resolver about IP literals, so :meth:`DeliveryClient.post`
  judges those itself before anything is sent;
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
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.errors import FetchError, UnsafeTargetError
from federation.netguard import (
    Resolver,
    SystemResolver,
    check_scheme,
    checked_addresses,
    is_public_address,
    make_ssl_context,
    parse_ip,
)

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


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver port, answered through netguard's check.

    Returns only checked addresses; raises :class:`UnsafeTargetError` (which
    aiohttp lets through untouched) when the host is refused, and ``OSError``
    (which aiohttp reports as a DNS failure) when it does not resolve.
    """

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._allow_private = allow_private
        self._resolver: Resolver = resolver or SystemResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await checked_addresses(
                host, port, resolver=self._resolver, allow_private=self._allow_private
            )
        except UnsafeTargetError:
            raise
        except FetchError as exc:
            raise OSError(str(exc)) from exc
        results: list[ResolveResult] = [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                "proto": socket.IPPROTO_TCP,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
        ]
        wanted = [r for r in results if family in (socket.AF_UNSPEC, r["family"])]
        if not wanted:
            raise OSError(f"{host!r} has no address of family {family!r}")
        return wanted

    async def close(self) -> None:
        return None


def check_target(url: yarl.URL, *, allow_private: bool) -> None:
    """Refuse a URL before any connection: its scheme, and a host written as an
    address (which aiohttp does not pass to the resolver) that is not public."""
    check_scheme(str(url), allow_private=allow_private)
    host = url.raw_host
    if not host:
        raise UnsafeTargetError(f"no host in {str(url)!r}")
    literal = parse_ip(host)
    if literal is None:
        if ":" in host or host.replace(".", "").isdigit():
            # 127.1, 2130706433: spellings the OS would read as an address
            raise UnsafeTargetError(
                f"{host!r} is not a canonical IP address",
                public_message="refusing a host written as a non-canonical address",
            )
        return
    if not allow_private and not is_public_address(literal):
        raise UnsafeTargetError(
            f"{host!r} is a non-public address",
            public_message="refusing to contact a non-public address",
        )


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
