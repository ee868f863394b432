"""The HTTP client of the delivery hot path: HTTP/1.1 on asyncio streams behind
netguard's rules.

Why not the httpx client that fetches use: a fan-out is hundreds of POSTs at
once, and there httpx costs about three times what a lean client does
(bench/README.md, fan-out floors: httpcore makes locks and polls every pooled
socket on each request). Why not aiohttp, which delivered until issue 18 part
4: per POST its request and response objects, timers and connector cost CPU
a delivery does not need (the node's CPU per delivery fell by 10 to 25 % without
them). A delivery needs little of HTTP: one request written whole, a status
line and a few headers read back, for an error the first bytes of the body,
and the connection closed.

The rules, the same as :func:`federation.netguard.make_client`'s:

- https only, or http too when ``allow_private`` (tests, local development);
- a name is resolved by :class:`GuardedResolver`, which refuses the host when
  any answer is not a public address and returns only the addresses it
  checked, and exactly those are dialled (no second lookup, no rebinding); an
  IP literal is judged as written (:func:`check_target`) before anything is sent;
- no redirects, no proxies or ``.netrc`` from the environment, no cookies;
- TLS verified against the same CA bundle as fetches, SNI and the certificate
  check use the URL's host name, not the address dialled;
- one total deadline per POST, besides 5 s to connect and 10 s to be answered;
  of an answer only the status, ``Retry-After`` and, for an error, the first
  bytes of the body are read, every line and the number of headers bounded.

Connections are not kept alive: a fan-out sends one POST to each of many
servers, so idle connections would only hold one file descriptor per server.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType

import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.errors import FetchError, UnsafeTargetError
from federation.hosts import url_authority
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


@dataclass(frozen=True)
class PostAnswer:
    """What a server answered: its status, ``Retry-After``, and for a non-2xx
    the start of its body as text (at most ``ERROR_TEXT_LIMIT`` characters)."""

    status: int
    retry_after: str | None
    error_text: str | None


class BadAnswerError(OSError):
    """The server's answer was not HTTP/1 as it should be (a retryable failure)."""


class GuardedResolver(AbstractResolver):
    """Name resolution through netguard's check (shaped as aiohttp's resolver port).

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
    uses it; the owner closes it with :meth:`aclose` (or ``async with``).

    Each POST is one HTTP/1.1 exchange on its own connection (``Connection:
    close``), written and read on asyncio streams: a fan-out opens one connection
    per server anyway, and aiohttp's per-request machinery cost CPU it does not
    need (bench/README.md, issue 18 part 4).
    """

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
        self._resolver = GuardedResolver(allow_private=allow_private, resolver=resolver)
        self._ssl = make_ssl_context(verify)
        self._user_agent = user_agent
        self._slots = asyncio.Semaphore(max_connections)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostAnswer:
        """POST ``body`` to ``url`` with exactly ``headers`` (plus User-Agent, and
        Host when not given).

        Raises :class:`UnsafeTargetError` for a refused target, ``TimeoutError``
        past the deadline, ``OSError`` (``ConnectionError`` among them, and TLS
        failures) for network failures, :class:`BadAnswerError` (an ``OSError``)
        for an answer that is not HTTP. Redirects are answers like any other status.
        """
        try:
            target = yarl.URL(url)
        except ValueError as exc:
            raise UnsafeTargetError(f"unparseable URL {url!r}: {exc}") from exc
        check_target(target, allow_private=self.allow_private)
        request = _request(target, body, headers, self._user_agent)
        async with self._slots, asyncio.timeout(self.deadline):
            reader, writer = await self._connect(target)
            try:
                writer.write(request)
                async with asyncio.timeout(_READ_TIMEOUT):
                    try:
                        status, retry_after, chunked, length = await _read_head(reader)
                    except ValueError as exc:  # a line past the limit, or not HTTP
                        raise BadAnswerError(str(exc)[:200]) from None
                    error_text = None
                    if not 200 <= status < 300:
                        error_text = await _read_error(reader, chunked, length)
                return PostAnswer(status, retry_after, error_text)
            finally:
                writer.transport.abort()  # Connection: close; nothing more to say or hear

    async def _connect(self, target: yarl.URL) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host = target.raw_host or ""
        port = target.port or (443 if target.scheme == "https" else 80)
        tls = self._ssl if target.scheme == "https" else None
        literal = parse_ip(host)
        if literal is not None:  # judged by check_target already
            addresses = [str(literal)]
        else:
            try:
                found = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
            except OSError as exc:
                raise ConnectionError(f"{host!r} does not resolve: {exc}") from exc
            addresses = [r["host"] for r in found]
        failure: OSError | None = None
        for address in addresses:  # the checked addresses only, in order
            try:
                async with asyncio.timeout(_CONNECT_TIMEOUT):
                    return await asyncio.open_connection(
                        address,
                        port,
                        ssl=tls,
                        server_hostname=host if tls is not None else None,
                        limit=_LINE_LIMIT,
                    )
            except ssl.SSLError:
                raise  # the certificate: another address will not present a better one
            except (OSError, TimeoutError) as exc:
                failure = (
                    exc if isinstance(exc, OSError) else ConnectionError(str(exc) or "timeout")
                )
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        return None

    async def __aenter__(self) -> DeliveryClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_CONNECT_TIMEOUT = 5.0
_READ_TIMEOUT = 10.0  # from the request written to the answer's status, headers and error text
_LINE_LIMIT = 16 * 1024  # bytes of one status or header line
_MAX_HEADERS = 100
_UNSAFE_IN_HEADERS = re.compile(r"[\r\n\0]")


def _request(target: yarl.URL, body: bytes, headers: dict[str, str], user_agent: str) -> bytes:
    path = target.raw_path_qs or "/"
    if any(c <= " " or c == "\x7f" for c in path):
        raise UnsafeTargetError(f"unusable path in {str(target)!r}")
    given = {name.lower() for name in headers}
    lines = [f"POST {path} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {url_authority(str(target))}")
    if "user-agent" not in given:
        lines.append(f"User-Agent: {user_agent}")
    for name, value in headers.items():
        if name.lower() in ("content-length", "connection", "transfer-encoding"):
            continue  # the client's own
        if _UNSAFE_IN_HEADERS.search(name) or _UNSAFE_IN_HEADERS.search(value) or ":" in name:
            raise UnsafeTargetError(f"unusable header {name!r}")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, str | None, bool, int | None]:
    """The status, ``Retry-After``, whether the body is chunked and its length."""
    while True:
        status = _status(await reader.readline())
        retry_after, chunked, length = None, False, None
        for _ in range(_MAX_HEADERS + 1):
            line = await reader.readline()
            if line in (b"\r\n", b"\n"):
                break
            if not line.endswith(b"\n"):
                raise ValueError("the answer ended inside its headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ValueError("a malformed header line in the answer")
            name, value = name.strip().lower(), value.strip()
            if name == "retry-after":
                retry_after = value
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "content-length" and value.isdigit():
                length = int(value)
        else:
            raise ValueError(f"more than {_MAX_HEADERS} headers in the answer")
        if status >= 200 or status == 101:
            return status, retry_after, chunked, length
        # 1xx (100 Continue, 103 Early Hints): the real answer follows


def _status(line: bytes) -> int:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP/1 answer: {line[:80]!r}")
    return int(parts[1])


async def _read_error(reader: asyncio.StreamReader, chunked: bool, length: int | None) -> str:
    """The first ``ERROR_TEXT_LIMIT`` characters of an error answer's body, reading
    at most four times as many bytes (chunk framing aside)."""
    budget = 4 * ERROR_TEXT_LIMIT
    data = b""
    try:
        if chunked:
            while len(data) < budget:
                size_line = await reader.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                data += await reader.readexactly(min(size, budget - len(data)))
                if len(data) >= budget:
                    break
                await reader.readexactly(2)  # the chunk's CRLF
        else:
            wanted = budget if length is None else min(length, budget)
            while len(data) < wanted:
                chunk = await reader.read(wanted - len(data))
                if not chunk:
                    break
                data += chunk
    except (ValueError, asyncio.IncompleteReadError, ConnectionError):
        pass  # a truncated or malformed error body: what was read is the text
    return data.decode("utf-8", "replace")[:ERROR_TEXT_LIMIT]
