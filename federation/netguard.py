"""The SSRF guard every outbound request goes through.

A federated server fetches URLs that strangers hand it (actor ids, keyIds,
WebFinger hosts, inboxes), so a hostile peer can point it at the loopback
interface, the cloud metadata service or the office LAN. The guard:

- refuses any scheme but http(s), and plain http unless ``allow_private``;
- resolves the host itself and refuses the connection when *any* resolved
  address is not globally routable (every IANA special-purpose range, not just
  RFC 1918: CVE-2026-46348 missed ``::``, CVE-2026-50131 missed special-use IPv4);
- then connects to the exact address it checked, so a DNS answer that changes
  between check and connect (rebinding) cannot slip a private address in.

TLS is untouched: httpcore calls ``start_tls`` with the URL's hostname as
``server_hostname`` (see ``httpcore._async.connection._connect``), so SNI and
certificate verification use the name, not the IP we dialled.

Fetches and deliveries go through aiohttp clients
(:class:`federation.fetch_client.FetchClient`,
:class:`federation.delivery_client.DeliveryClient`), which apply the same checks
(:func:`checked_addresses`) through :mod:`federation.aioguard`;
:func:`make_client` builds the httpx client of the rest (move notices).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

import httpcore
import httpx

from federation.errors import FetchError, UnsafeTargetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
"""Per-operation timeouts as Mastodon uses them; callers add a total deadline."""

DEFAULT_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0
)
"""Idle connections are kept 4 s, not httpx's 5: uvicorn, Node.js and Apache close
theirs after 5 s, and a request reusing one near that moment meets the close
(``federation.fetch`` sends it again, but the round trip is lost)."""

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# IANA IPv4 Special-Purpose Address Registry (every entry, even those marked
# "globally reachable": no ActivityPub server lives on an anycast relay), plus
# multicast, which has its own registry.
_BLOCKED_V4: tuple[ipaddress.IPv4Network, ...] = tuple(
    _V4(n)
    for n in (
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (CGNAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata lives here)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
        "192.0.2.0/24",  # TEST-NET-1
        "192.31.196.0/24",  # AS112-v4
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # AS112 direct delegation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes limited broadcast 255.255.255.255
    )
)

# Only 2000::/3 is allocated as global unicast; everything outside it (::,
# ::1, IPv4-compatible ::/96, 64:ff9b:1::/48, 100::/64, 5f00::/16, fc00::/7,
# fe80::/10, fec0::/10, ff00::/8) is refused by that rule. These are the
# IANA IPv6 special-purpose entries that sit inside 2000::/3.
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_BLOCKED_V6: tuple[ipaddress.IPv6Network, ...] = tuple(
    _V6(n)
    for n in (
        "2001::/23",  # IETF protocol assignments: Teredo, ORCHID, benchmarking, AMT, ...
        "2001:db8::/32",  # documentation
        "2620:4f:8000::/48",  # AS112 direct delegation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_NAT64_WELL_KNOWN = _V6("64:ff9b::/96")


def is_public_address(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address we may connect to.

    IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, the
    NAT64 prefix ``64:ff9b::/96`` and 6to4 ``2002::/16``) are judged by the
    IPv4 address they lead to.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_public_v4(ip)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        return _is_public_v4(embedded)
    if ip not in _GLOBAL_UNICAST_V6 or any(ip in net for net in _BLOCKED_V6):
        return False
    return ip.is_global


def _is_public_v4(ip: ipaddress.IPv4Address) -> bool:
    return not any(ip in net for net in _BLOCKED_V4) and ip.is_global


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def parse_ip(text: str) -> IPAddress | None:
    """The address written in ``text``, or None when it is a host name."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Resolution

# Error details may name internal addresses; what a remote party sees is this.
_UNRESOLVED = "could not resolve the remote host"


class Resolver(Protocol):
    """Turns a host name into the addresses to try, in order."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]: ...


class SystemResolver:
    """The operating system's resolver, via the event loop's ``getaddrinfo``."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(f"cannot resolve {host!r}: {exc}", public_message=_UNRESOLVED) from exc
        addresses: list[IPAddress] = []
        for *_, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0])
            if ip not in addresses:
                addresses.append(ip)
        return addresses


class StaticResolver:
    """A fixed host table, for tests and for nodes named in a test federation.

    Unknown names fail the way an NXDOMAIN would.
    """

    def __init__(self, table: Mapping[str, str | Sequence[str]]) -> None:
        self._table = {
            host.lower(): [ipaddress.ip_address(a) for a in _as_list(addrs)]
            for host, addrs in table.items()
        }

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return list(self._table[host.lower()])
        except KeyError:
            raise FetchError(
                f"cannot resolve {host!r}: not in the static table", public_message=_UNRESOLVED
            ) from None


def _as_list(addrs: str | Sequence[str]) -> list[str]:
    return [addrs] if isinstance(addrs, str) else list(addrs)


async def checked_addresses(
    host: str, port: int, *, resolver: Resolver, allow_private: bool
) -> list[IPAddress]:
    """The addresses to dial for ``host``: all of them checked, or an error.

    An IP literal is judged as written, without DNS. A name is resolved once;
    when any answer is not public (and ``allow_private`` is off) the host is
    refused as a whole. Dial only what this returns.
    """
    literal = parse_ip(host)
    addresses = [literal] if literal is not None else await resolver.resolve(host, port)
    if not addresses:
        raise FetchError(f"{host!r} resolved to no address", public_message=_UNRESOLVED)
    if not allow_private:
        for ip in addresses:
            if not is_public_address(ip):
                raise UnsafeTargetError(
                    f"{host!r} resolves to non-public address {ip}",
                    public_message="refusing to contact a non-public address",
                )
    return addresses


# --------------------------------------------------------------------------
# The httpcore backend and the httpx transport


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks, then dials the checked IP through ``inner``."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolver: Resolver = resolver or SystemResolver()
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await checked_addresses(
                    host, port, resolver=self._resolver, allow_private=self._allow_private
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        last_error: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeTargetError("unix sockets are never a federation target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool dials through the guard.

    It also enforces the scheme policy on every request, before any DNS lookup.
    No proxy support: a proxy would make the address check meaningless.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        ssl_context = make_ssl_context(verify)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        self._allow_private = allow_private
        # Replace the pool the parent built with one that uses our backend. The
        # parent's handle_async_request (and its exception mapping) stays in use.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(
                allow_private=allow_private, resolver=resolver, inner=inner
            ),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_scheme(str(request.url), allow_private=self._allow_private)
        return await super().handle_async_request(request)


def make_ssl_context(verify: ssl.SSLContext | bool = True) -> ssl.SSLContext:
    """The TLS context of every outbound client: certificates verified against the
    same CA bundle (certifi's, as httpx ships it) for fetches and deliveries alike."""
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def check_scheme(url: str, *, allow_private: bool) -> None:
    """Refuse anything but https (and http when private targets are allowed)."""
    scheme = url.partition(":")[0].lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise UnsafeTargetError(
            f"refusing {scheme or 'relative'} URL {url!r}",
            public_message=f"refusing a URL with scheme {scheme[:10]!r}",
        )


def make_client(
    *,
    allow_private: bool,
    resolver: Resolver | None = None,
    auth: httpx.Auth | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    verify: ssl.SSLContext | bool = True,
    user_agent: str = "Tocsin",
) -> httpx.AsyncClient:
    """The one way Tocsin builds an outbound httpx client (fetches and deliveries
    have their aiohttp clients, see above).

    ``allow_private=True`` is for tests and development on loopback only.
    Redirects are never followed automatically.
    The caller owns the client and must ``aclose()`` it.
    """
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, resolver=resolver, verify=verify),
        auth=auth,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": user_agent},
    )
