"""The fetches' aiohttp client keeps netguard's rules: refusals before any
connection, the checked address dialled, no redirects, no cookies, no proxy from
the environment, TLS checked against the host name. Real servers on loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from federation.errors import FetchError, TransientFetchError, UnsafeTargetError
from federation.fetch import Fetcher
from federation.fetch_client import FetchClient
from federation.netguard import IPAddress, StaticResolver
from tests.support.loopback import LoopbackServer, Respond, tls_contexts

AS2 = b"application/activity+json"


class RecordingResolver:
    """A netguard ``Resolver`` with fixed answers that records what it was asked."""

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


def answering(status_line: bytes, headers: bytes = b"", body: bytes = b"") -> Respond:
    """Answer ``status_line`` with ``headers`` and ``body``, then close."""

    async def respond(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        length = b"Content-Length: %d\r\n" % len(body)
        writer.write(status_line + b"\r\n" + headers + length + b"Connection: close\r\n\r\n" + body)
        await writer.drain()

    return respond


async def get(client: FetchClient, url: str) -> int:
    async with client.get(url, {}) as response:
        await response.read()
        return response.status


# -- refused before connecting ---------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "10.0.0.1", "[::]"])
async def test_an_address_that_is_not_public_is_refused_without_dns_or_connecting(
    server: LoopbackServer, host: str
) -> None:
    resolver = RecordingResolver("8.8.8.8")
    async with FetchClient(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError):
            await get(client, f"https://{host}:{server.port}/actor")
    assert resolver.asked == []
    assert server.connections == 0


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::ffff:127.0.0.1", "100.64.0.1", "169.254.169.254", "fd00::1"]
)
async def test_a_name_resolving_to_an_address_that_is_not_public_is_refused(
    server: LoopbackServer, address: str
) -> None:
    resolver = RecordingResolver(address)
    async with FetchClient(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError) as refused:
            await get(client, f"https://innocent.example:{server.port}/actor")
    assert resolver.asked == ["innocent.example"]
    assert server.connections == 0
    assert address not in refused.value.public_message  # internal answers stay in the logs


async def test_one_private_answer_among_public_ones_refuses_the_host(
    server: LoopbackServer,
) -> None:
    resolver = RecordingResolver("8.8.8.8", "127.0.0.1")
    async with FetchClient(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError):
            await get(client, f"https://mixed.example:{server.port}/")
    assert server.connections == 0


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1", "0x7f.1"])
async def test_numeric_spellings_of_an_address_are_refused(
    server: LoopbackServer, host: str
) -> None:
    async with FetchClient(allow_private=False) as client:
        with pytest.raises(FetchError):  # UnsafeTargetError, or unusable (httpx's parser)
            await get(client, f"https://{host}:{server.port}/actor")
    assert server.connections == 0


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://public.example/actor", False),
        ("ftp://127.0.0.1/actor", True),
        ("ws://127.0.0.1/actor", True),
    ],
)
async def test_schemes_other_than_https_are_refused_before_any_lookup(
    url: str, allow_private: bool
) -> None:
    resolver = RecordingResolver("8.8.8.8")
    async with FetchClient(allow_private=allow_private, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError):
            await get(client, url)
    assert resolver.asked == []


# -- what is sent, and where -----------------------------------------------------------


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    server: LoopbackServer,
) -> None:
    resolver = RecordingResolver("127.0.0.3", "127.0.0.1")  # nothing listens on .3
    async with FetchClient(
        allow_private=True, resolver=resolver, user_agent="Tocsin/test"
    ) as client:
        assert await get(client, f"http://made-up.example:{server.port}/actor") == 200
    assert resolver.asked == ["made-up.example"]
    [received] = server.received
    assert received.request_line == "GET /actor HTTP/1.1"
    assert received.values("host") == [f"made-up.example:{server.port}"]
    assert received.values("user-agent") == ["Tocsin/test"]
    assert received.values("cookie") == []


async def test_redirects_are_answers_not_followed() -> None:
    respond = answering(b"HTTP/1.1 302 Found", b"Location: /elsewhere\r\n")
    async with (
        LoopbackServer(respond=respond) as server,
        FetchClient(allow_private=True) as client,
    ):
        assert await get(client, f"http://127.0.0.1:{server.port}/actor") == 302
    assert [r.request_line for r in server.received] == ["GET /actor HTTP/1.1"]


async def test_cookies_a_server_sets_are_never_sent_back() -> None:
    respond = answering(b"HTTP/1.1 200 OK", b"Set-Cookie: session=secret; Path=/\r\n", b"{}")
    resolver = StaticResolver({"cookies.example": "127.0.0.1"})  # a jar skips IP hosts
    async with (
        LoopbackServer(respond=respond) as server,
        FetchClient(allow_private=True, resolver=resolver) as client,
    ):
        for _ in range(2):
            await get(client, f"http://cookies.example:{server.port}/actor")
    assert [r.values("cookie") for r in server.received] == [[], []]


async def test_proxies_from_the_environment_are_ignored(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with LoopbackServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        resolver = StaticResolver({"direct.example": "127.0.0.1"})
        async with FetchClient(allow_private=True, resolver=resolver) as client:
            assert await get(client, f"http://direct.example:{server.port}/actor") == 200
    assert proxy.connections == 0
    assert server.hosts == [f"direct.example:{server.port}"]


async def test_a_name_that_does_not_resolve_is_a_lasting_fetch_error() -> None:
    async with FetchClient(allow_private=True, resolver=StaticResolver({})) as client:
        with pytest.raises(FetchError) as failed:
            await Fetcher(client).fetch_object("http://nowhere.example/actor")
    assert not isinstance(failed.value, TransientFetchError)


async def test_a_garbled_answer_is_a_transient_fetch_error() -> None:
    respond = answering(b"HTTP/1.1 2OO OK")
    async with (
        LoopbackServer(respond=respond) as server,
        FetchClient(allow_private=True) as client,
    ):
        with pytest.raises(TransientFetchError):
            await Fetcher(client).fetch_object(f"http://127.0.0.1:{server.port}/actor")


async def test_an_answer_cut_short_is_a_transient_fetch_error() -> None:
    async def cut(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: " + AS2 + b"\r\nContent-Length: 99\r\n\r\n"
        writer.write(head + b"{")
        await writer.drain()

    async with (
        LoopbackServer(respond=cut) as server,
        FetchClient(allow_private=True) as client,
    ):
        with pytest.raises(TransientFetchError):
            await Fetcher(client).fetch_object(f"http://127.0.0.1:{server.port}/actor")


# -- TLS -------------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]:
    return tls_contexts(tmp_path, "tls.example")


async def test_tls_sni_and_verification_use_the_host_name_not_the_address(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, seen = tls
    resolver = StaticResolver({"tls.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        FetchClient(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        assert await get(client, f"https://tls.example:{server.port}/actor") == 200
    assert seen == ["tls.example"]


async def test_tls_to_a_name_the_certificate_does_not_cover_fails(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, _ = tls
    resolver = StaticResolver({"other.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        FetchClient(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        url = f"https://other.example:{server.port}/actor"
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get(client, url)
        with pytest.raises(TransientFetchError):  # as with httpx: a failed connection
            await Fetcher(client).fetch_object(url)
    assert server.received == []


async def test_tls_is_verified_by_default(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, _, _ = tls
    resolver = StaticResolver({"tls.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        FetchClient(allow_private=True, resolver=resolver) as client,
    ):
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await get(client, f"https://tls.example:{server.port}/actor")
    assert server.received == []
