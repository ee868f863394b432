"""The deliveries' aiohttp client keeps netguard's rules: refusals before any
connection, the checked address dialled, no redirects, a capped read of error
bodies, one deadline, TLS checked against the host name. Real servers on
loopback throughout."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.cavage import digest_header
from federation.delivery import DeliveryJob, post_signed
from federation.delivery_client import DeliveryClient, GuardedResolver
from federation.errors import UnsafeTargetError
from federation.netguard import IPAddress, StaticResolver
from tests.support.loopback import LoopbackServer, Respond, tls_contexts

BODY = b'{"type": "Create", "id": "https://tocsin.example/activities/1"}'
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class RecordingResolver:
    """A netguard ``Resolver`` with fixed answers that records what it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.asked: list[str] = []
        self._addresses = [ipaddress.ip_address(a) for a in addresses]

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return list(self._addresses)


def job(url: str) -> DeliveryJob:
    return DeliveryJob(1, url, BODY, "https://tocsin.example/actor#main-key", "", attempts=0)


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


# -- refused before connecting ---------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "169.254.169.254", "10.0.0.1"])
async def test_delivery_to_private_address_is_refused_before_connecting(
    server: LoopbackServer, host: str
) -> None:
    async with DeliveryClient(allow_private=False) as client:
        with pytest.raises(UnsafeTargetError):
            await client.post(f"https://{host}:{server.port}/inbox", BODY, {})
        result = await post_signed(client, job(f"https://{host}:{server.port}/inbox"), KEY)
    assert result.refused and result.status is None
    assert server.connections == 0


@pytest.mark.parametrize("address", ["127.0.0.1", "::ffff:127.0.0.1", "100.64.0.1", "fd00::1"])
async def test_name_resolving_to_a_private_address_is_refused_before_connecting(
    server: LoopbackServer, address: str
) -> None:
    resolver = RecordingResolver(address)
    async with DeliveryClient(allow_private=False, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError) as refused:
            await client.post(f"https://innocent.example:{server.port}/inbox", BODY, {})
    assert resolver.asked == ["innocent.example"]
    assert server.connections == 0
    assert address not in refused.value.public_message


async def test_one_private_answer_among_public_ones_refuses_the_host(
    server: LoopbackServer,
) -> None:
    resolver = RecordingResolver("8.8.8.8", "127.0.0.1")
    async with DeliveryClient(allow_private=False, resolver=resolver) as client:
        result = await post_signed(client, job(f"https://mixed.example:{server.port}/"), KEY)
    assert result.refused
    assert server.connections == 0


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1"])
async def test_numeric_spellings_of_an_address_are_refused(
    server: LoopbackServer, host: str
) -> None:
    async with DeliveryClient(allow_private=False) as client:
        result = await post_signed(client, job(f"https://{host}:{server.port}/inbox"), KEY)
    assert result.refused
    assert server.connections == 0


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [("http://public.example/inbox", False), ("ftp://127.0.0.1/inbox", True)],
)
async def test_schemes_other_than_https_are_refused_before_any_lookup(
    url: str, allow_private: bool
) -> None:
    resolver = RecordingResolver("8.8.8.8")
    async with DeliveryClient(allow_private=allow_private, resolver=resolver) as client:
        with pytest.raises(UnsafeTargetError):
            await client.post(url, BODY, {})
    assert resolver.asked == []


# -- what is sent, and where -----------------------------------------------------------


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    server: LoopbackServer,
) -> None:
    resolver = RecordingResolver("127.0.0.3", "127.0.0.1")  # nothing listens on .3
    async with DeliveryClient(
        allow_private=True, resolver=resolver, user_agent="Tocsin/test"
    ) as client:
        url = f"http://made-up.example:{server.port}/inbox"
        result = await post_signed(client, job(url), KEY)
    assert result.ok and result.status == 200
    assert resolver.asked == ["made-up.example"]
    [received] = server.received
    assert received.request_line == "POST /inbox HTTP/1.1"
    assert received.values("host") == [f"made-up.example:{server.port}"]
    assert received.values("user-agent") == ["Tocsin/test"]
    assert len(received.values("signature")) == 1
    assert received.values("signature-input") == []
    assert received.values("digest") == [digest_header(BODY)]
    assert received.body == BODY


async def test_a_name_that_does_not_resolve_is_a_retryable_failure() -> None:
    async with DeliveryClient(allow_private=True, resolver=StaticResolver({})) as client:
        result = await post_signed(client, job("http://nowhere.example/inbox"), KEY)
    assert not result.refused and result.status is None
    assert result.error is not None and result.error.startswith("ConnectError")


async def test_guarded_resolver_answers_only_the_family_asked_for() -> None:
    resolver = GuardedResolver(allow_private=True, resolver=RecordingResolver("127.0.0.1", "::1"))
    v4 = await resolver.resolve("both.example", 80, socket.AF_INET)
    both = await resolver.resolve("both.example", 80, socket.AF_UNSPEC)
    assert [r["host"] for r in v4] == ["127.0.0.1"]
    assert [r["host"] for r in both] == ["127.0.0.1", "::1"]
    assert {r["hostname"] for r in both} == {"both.example"}


# -- answers ---------------------------------------------------------------------------


async def test_redirects_are_answers_not_followed() -> None:
    respond = answering(b"HTTP/1.1 308 Permanent Redirect", b"Location: /elsewhere\r\n")
    async with (
        LoopbackServer(respond=respond) as server,
        DeliveryClient(allow_private=True) as client,
    ):
        result = await post_signed(client, job(f"http://127.0.0.1:{server.port}/inbox"), KEY)
    assert (result.ok, result.status) == (False, 308)
    assert [r.request_line for r in server.received] == ["POST /inbox HTTP/1.1"]


async def test_retry_after_and_the_start_of_an_error_body_are_kept() -> None:
    respond = answering(
        b"HTTP/1.1 503 Service Unavailable", b"Retry-After: 120\r\n", "é".encode() * 2000
    )
    async with (
        LoopbackServer(respond=respond) as server,
        DeliveryClient(allow_private=True) as client,
    ):
        result = await post_signed(client, job(f"http://127.0.0.1:{server.port}/inbox"), KEY)
    assert (result.status, result.retry_after) == (503, "120")
    assert result.error == "é" * 500


async def test_an_endless_error_body_is_read_only_up_to_the_cap() -> None:
    sent = 0

    async def endless(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        while True:  # until the client hangs up
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)

    async with (
        LoopbackServer(respond=endless) as server,
        DeliveryClient(allow_private=True) as client,
    ):
        result = await post_signed(client, job(f"http://127.0.0.1:{server.port}/inbox"), KEY)
    assert (result.status, result.error) == (500, "x" * 500)
    assert sent < 64 * 1024 * 1024  # it hung up long before the body ended (it never does)


async def test_a_server_that_never_answers_runs_into_the_deadline() -> None:
    async def silent(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes

    async with (
        LoopbackServer(respond=silent) as server,
        DeliveryClient(allow_private=True, deadline=0.3) as client,
    ):
        url = f"http://127.0.0.1:{server.port}/inbox"
        with pytest.raises(TimeoutError):
            await client.post(url, BODY, {})
        result = await post_signed(client, job(url), KEY)
    assert not result.refused and result.status is None
    assert result.error is not None and result.error.startswith("Timeout")


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
        DeliveryClient(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        result = await post_signed(client, job(f"https://tls.example:{server.port}/inbox"), KEY)
    assert result.status == 200
    assert seen == ["tls.example"]


async def test_tls_to_a_name_the_certificate_does_not_cover_fails(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, client_ctx, _ = tls
    resolver = StaticResolver({"other.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        DeliveryClient(allow_private=True, resolver=resolver, verify=client_ctx) as client,
    ):
        url = f"https://other.example:{server.port}/inbox"
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.post(url, BODY, {})
        result = await post_signed(client, job(url), KEY)
    assert result.status is None and not result.refused
    assert server.received == []


async def test_tls_is_verified_by_default(
    tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]],
) -> None:
    server_ctx, _, _ = tls
    resolver = StaticResolver({"tls.example": "127.0.0.1"})
    async with (
        LoopbackServer(server_ctx) as server,
        DeliveryClient(allow_private=True, resolver=resolver) as client,
    ):
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.post(f"https://tls.example:{server.port}/inbox", BODY, {})
    assert server.received == []
