"""The SSRF guard: address table, scheme policy, and real connections on loopback
through the httpx transport (``make_client``). The aiohttp clients of fetches and
deliveries are held to the same rules in test_fetch_client.py and
test_delivery_client.py."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import httpcore
import httpx
import pytest

from federation.errors import FetchError, UnsafeTargetError
from federation.netguard import (
    GuardedTransport,
    IPAddress,
    StaticResolver,
    SystemResolver,
    is_public_address,
    make_client,
)
from tests.support.loopback import LoopbackServer, tls_contexts

# --------------------------------------------------------------------------
# is_public_address


PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "2001:4860::8888",
    "2001:4860:4860::8888",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # IPv4-mapped: judged by the IPv4 address
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]

NOT_PUBLIC = [
    # IPv4 special-purpose registry, multicast and broadcast
    "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.0.170",
    "192.0.2.1",
    "192.31.196.1",
    "192.52.193.1",
    "192.88.99.1",
    "192.168.1.1",
    "192.175.48.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6
    "::",
    "::1",
    "::127.0.0.1",  # deprecated IPv4-compatible
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:100.64.0.1",
    "::ffff:0.0.0.0",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::1",  # local-use NAT64
    "100::1",  # discard-only
    "2001::1",  # Teredo
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo with a real-looking payload
    "2001:2::1",  # benchmarking
    "2001:10::1",  # ORCHID
    "2001:20::1",  # ORCHIDv2
    "2001:db8::1",  # documentation
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002::1",  # 6to4 of 0.0.0.0
    "2620:4f:8000::1",  # AS112
    "3fff::1",  # documentation (RFC 9637)
    "5f00::1",  # SRv6 SIDs
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
]


@pytest.mark.parametrize("address", PUBLIC)
def test_is_public_address_accepts_global_unicast(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_is_public_address_refuses_special_purpose_ranges(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


# --------------------------------------------------------------------------
# Helpers: a counting loopback server, a recording backend and resolver


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records every dial, then dials for real."""

    def __init__(self) -> None:
        self.dialled: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialled.append((host, port))
        return await self._real.connect_tcp(host, port, timeout=timeout)


class RecordingResolver:
    def __init__(self, *addresses: str) -> None:
        self.asked: list[str] = []
        self._addresses = [ipaddress.ip_address(a) for a in addresses]

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return list(self._addresses)


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as running:
        yield running


def guarded_client(
    *, allow_private: bool, resolver: RecordingResolver | StaticResolver, backend: RecordingBackend
) -> httpx.AsyncClient:
    transport = GuardedTransport(allow_private=allow_private, resolver=resolver, inner=backend)
    return httpx.AsyncClient(transport=transport, follow_redirects=False)


# --------------------------------------------------------------------------
# Refusals happen before any connection


@pytest.mark.parametrize(
    "address",
    ["::", "::ffff:127.0.0.1", "100.64.0.1", "169.254.169.254", "64:ff9b::7f00:1", "fd00::1"],
)
async def test_host_resolving_to_non_public_address_is_refused_without_connecting(
    address: str,
) -> None:
    backend = RecordingBackend()
    resolver = RecordingResolver(address)
    async with guarded_client(allow_private=False, resolver=resolver, backend=backend) as client:
        with pytest.raises(UnsafeTargetError) as refused:
            await client.get("https://innocent.example/actor")
    assert resolver.asked == ["innocent.example"]
    assert backend.dialled == []
    assert address not in refused.value.public_message  # internal answers stay in the logs


async def test_one_non_public_answer_among_public_ones_refuses_the_host() -> None:
    backend = RecordingBackend()
    resolver = RecordingResolver("8.8.8.8", "127.0.0.1")
    async with guarded_client(allow_private=False, resolver=resolver, backend=backend) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get("https://mixed.example/")
    assert backend.dialled == []


@pytest.mark.parametrize("url", ["https://127.0.0.1/", "https://[::1]/", "https://[::]/"])
async def test_ip_literal_urls_are_checked_without_dns(url: str) -> None:
    backend = RecordingBackend()
    resolver = RecordingResolver("8.8.8.8")
    async with guarded_client(allow_private=False, resolver=resolver, backend=backend) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get(url)
    assert resolver.asked == []
    assert backend.dialled == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1"])
async def test_numeric_spellings_of_loopback_are_refused(host: str) -> None:
    async with make_client(allow_private=False) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get(f"https://{host}/")


async def test_made_up_host_pointing_at_loopback_never_reaches_the_server(
    server: LoopbackServer,
) -> None:
    resolver = StaticResolver({"evil.example": "127.0.0.1"})
    async with make_client(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get(f"https://evil.example:{server.port}/")
    assert server.connections == 0


# --------------------------------------------------------------------------
# Schemes


async def test_plain_http_is_refused_without_allow_private() -> None:
    resolver = RecordingResolver("8.8.8.8")
    async with guarded_client(
        allow_private=False, resolver=resolver, backend=RecordingBackend()
    ) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get("http://public.example/")
    assert resolver.asked == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "gopher://127.0.0.1/", "ws://127.0.0.1/"])
async def test_non_http_schemes_are_refused_even_with_allow_private(url: str) -> None:
    async with make_client(allow_private=True) as client:
        with pytest.raises(UnsafeTargetError):
            await client.get(url)


# --------------------------------------------------------------------------
# Allowed connections go to the checked address


async def test_loopback_is_reachable_when_allow_private(server: LoopbackServer) -> None:
    async with make_client(allow_private=True) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_connection_goes_to_the_ip_that_was_checked(server: LoopbackServer) -> None:
    backend = RecordingBackend()
    resolver = RecordingResolver("127.0.0.1")
    async with guarded_client(allow_private=True, resolver=resolver, backend=backend) as client:
        response = await client.get(f"http://made-up.example:{server.port}/")
    assert response.text == "ok"
    assert resolver.asked == ["made-up.example"]  # one lookup, never a second one
    assert backend.dialled == [("127.0.0.1", server.port)]
    assert server.hosts == [f"made-up.example:{server.port}"]


async def test_unreachable_address_falls_back_to_the_next_checked_one(
    server: LoopbackServer,
) -> None:
    backend = RecordingBackend()
    resolver = RecordingResolver("127.0.0.3", "127.0.0.1")  # nothing listens on .3
    async with guarded_client(allow_private=True, resolver=resolver, backend=backend) as client:
        response = await client.get(f"http://two.example:{server.port}/")
    assert response.text == "ok"
    assert backend.dialled == [("127.0.0.3", server.port), ("127.0.0.1", server.port)]


async def test_system_resolver_resolves_localhost_to_loopback() -> None:
    addresses = await SystemResolver().resolve("localhost", 80)
    assert {str(a) for a in addresses} & {"127.0.0.1", "::1"}


async def test_static_resolver_fails_for_unknown_names() -> None:
    with pytest.raises(FetchError):
        await StaticResolver({"a.example": "127.0.0.1"}).resolve("b.example", 443)


# --------------------------------------------------------------------------
# TLS keeps using the hostname while dialling the checked IP


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]:
    """(server context for tls.example, client context trusting it, SNI names seen)."""
    return tls_contexts(tmp_path, "tls.example")


async def test_tls_sni_and_verification_use_the_hostname_not_the_ip(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, seen = tls
    resolver = StaticResolver({"tls.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        make_client(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        response = await client.get(f"https://tls.example:{server.port}/")
    assert response.text == "ok"
    assert seen == ["tls.example"]


async def test_tls_fails_for_a_name_the_certificate_does_not_cover(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, _ = tls
    resolver = StaticResolver({"other.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        make_client(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://other.example:{server.port}/")
