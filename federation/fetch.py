"""Fetch remote ActivityStreams objects and WebFinger documents safely.

Everything fetched here comes from servers we do not trust, so the rules are
those the fediverse learned from its advisories (docs/interop.md#fetching):

- at most 3 redirects, never to another host or down from https to http
  (CVE-2026-34148, CVE-2025-23221, Pleroma 2.9.1);
- one total deadline over connect, headers and body, because socket timeouts
  are per operation and a server trickling a byte a second never trips them
  (CVE-2023-36461);
- a body limit enforced while streaming, including after gzip inflation;
- status 200 and an ActivityStreams content type, never plain JSON or HTML
  (CVE-2024-25623);
- JSON parsed with depth and size bounds (CVE-2026-23962);
- the object's ``id`` must equal the URL we asked for (CVE-2024-23832).

The transport is :class:`federation.fetch_client.FetchClient` (aiohttp), which
adds the address and scheme checks. Redirects are followed here, hop by hop, so
each hop is re-checked and, when a ``signer`` is given, re-signed for its own
URL.

Errors: ``FetchError`` (including ``UnsafeTargetError``) when the remote side
fails or misbehaves, ``TransientFetchError`` when trying later may work (the
network failed, the time ran out, the answer was cut or garbled, HTTP 429 or
5xx); ``TooLargeError`` and ``MalformedError`` for bodies.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from federation.errors import FetchError, MalformedError, TooLargeError, TransientFetchError
from federation.fetch_client import FetchClient, Signer
from federation.hosts import same_origin, url_authority
from federation.jsonlimits import loads_limited

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
ACTIVITY_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
JRD_ACCEPT = "application/jrd+json, application/json"

MAX_BODY_BYTES = 1 << 20
MAX_REDIRECTS = 3
DEFAULT_DEADLINE = 30.0

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # let zlib detect the gzip or zlib header

ContentTypeCheck = Callable[[str], bool]

# Error details name URLs and library errors (for logs); remote parties see these.
_FAILED = "could not fetch the remote resource"
_UNRESOLVED = "could not resolve the remote host"
_BAD_REDIRECT = "unusable redirect"
_CORRUPT = "corrupt compressed body"


class Fetcher:
    """Fetches JSON documents under the rules above.

    ``client`` is owned by the caller. ``signer`` (for instance the instance
    actor's HTTP signature, :class:`federation.cavage.HttpSigner`) signs every hop.
    """

    def __init__(
        self,
        client: FetchClient,
        *,
        signer: Signer | None = None,
        deadline: float = DEFAULT_DEADLINE,
        max_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self._client = client
        self._signer = signer
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects

    async def fetch_object(self, url: str) -> dict[str, Any]:
        """GET an ActivityStreams object whose ``id`` is exactly ``url``."""
        doc = await self._fetch_json(url, ACTIVITY_ACCEPT, is_activitystreams_type)
        if doc.get("id") != url:
            raise FetchError(
                f"object fetched from {url!r} has id {doc.get('id')!r}",
                public_message="fetched object's id does not match its URL",
            )
        return doc

    async def fetch_jrd(self, url: str) -> dict[str, Any]:
        """GET a WebFinger (JRD) document; plain ``application/json`` is accepted."""
        return await self._fetch_json(url, JRD_ACCEPT, is_jrd_type)

    async def _fetch_json(
        self, url: str, accept: str, content_type_ok: ContentTypeCheck
    ) -> dict[str, Any]:
        body = await self._fetch_body(url, accept, content_type_ok)
        doc = loads_limited(body)
        if not isinstance(doc, dict):
            raise MalformedError(
                f"{url!r} did not return a JSON object",
                public_message="remote document is not a JSON object",
            )
        return doc

    async def _fetch_body(self, url: str, accept: str, content_type_ok: ContentTypeCheck) -> bytes:
        if not _is_absolute_url(url):
            raise FetchError(f"not an absolute URL: {url!r}", public_message="not an absolute URL")
        try:
            async with asyncio.timeout(self._deadline):
                return await self._follow(url, accept, content_type_ok)
        except aiohttp.ClientConnectorDNSError as exc:  # a FetchError from the resolver
            raise FetchError(
                f"fetching {url!r} failed: {exc!r}", public_message=_UNRESOLVED
            ) from exc
        # the network, not the URL: refused or dropped connections, socket timeouts,
        # cut or garbled answers (ClientResponseError: an unparseable status or header)
        except (
            aiohttp.ClientConnectionError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientResponseError,
        ) as exc:
            raise TransientFetchError(
                f"fetching {url!r} failed: {exc!r}", public_message=_FAILED
            ) from exc
        except TimeoutError:
            raise TransientFetchError(
                f"{url!r} gave no complete answer within {self._deadline:g} s",
                public_message="remote server too slow",
            ) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"fetching {url!r} failed: {exc!r}", public_message=_FAILED) from exc

    async def _follow(self, url: str, accept: str, content_type_ok: ContentTypeCheck) -> bytes:
        current = url
        redirects = 0
        headers = {"Accept": accept, "Accept-Encoding": "gzip"}
        while True:
            async with self._client.get(current, headers, signer=self._signer) as response:
                location = redirect_location(response)
                if location is None:
                    check_response(response, content_type_ok)
                    return await read_limited(response, self._max_bytes)
            if redirects == self._max_redirects:
                raise FetchError(
                    f"more than {self._max_redirects} redirects from {url!r}",
                    public_message="too many redirects",
                )
            redirects += 1
            current = next_hop(url, current, location)


def _is_absolute_url(url: str) -> bool:
    try:
        return bool(url_authority(url))
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False


def redirect_location(response: aiohttp.ClientResponse) -> str | None:
    """The ``Location`` of a redirect response, or None if it is not one."""
    if response.status not in _REDIRECT_STATUSES:
        return None
    location = response.headers.get("Location", "")
    if not location:
        raise FetchError(
            f"HTTP {response.status} without a Location header", public_message=_BAD_REDIRECT
        )
    return location


def next_hop(original: str, current: str, location: str) -> str:
    """Resolve a redirect target and refuse it if it leaves the original host."""
    try:
        target = urljoin(current, location.strip())
        same = same_origin(original, target)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        raise FetchError(
            f"unusable redirect Location {location!r}", public_message=_BAD_REDIRECT
        ) from None
    if not same:
        raise FetchError(
            f"redirect from {current!r} to another host: {target!r}",
            public_message="redirect to another host refused",
        )
    if urlsplit(current).scheme == "https" and urlsplit(target).scheme != "https":
        raise FetchError(
            f"redirect from {current!r} leaves https: {target!r}",
            public_message="redirect from https to http refused",
        )
    return target


def check_response(response: aiohttp.ClientResponse, content_type_ok: ContentTypeCheck) -> None:
    """Require status 200 and an acceptable content type, before reading the body."""
    if response.status != 200:
        busy = response.status == 429 or response.status >= 500
        raise (TransientFetchError if busy else FetchError)(
            f"{response.url} answered HTTP {response.status}",
            public_message=f"remote server answered HTTP {response.status}",
        )
    content_type = response.headers.get("Content-Type", "")
    if not content_type_ok(content_type):
        raise FetchError(
            f"{response.url} answered with content type {content_type!r}",
            public_message="remote document has the wrong content type",
        )


async def read_limited(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the (inflated) body, stopping as soon as it exceeds ``max_bytes``."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    inflater = _Inflater.for_encoding(response.headers.get("Content-Encoding", ""))
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += inflater.feed(chunk, max_bytes + 1 - len(body))
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    inflater.finish()
    return bytes(body)


def _too_large(max_bytes: int) -> TooLargeError:
    return TooLargeError(
        f"remote body over {max_bytes} bytes", public_message="remote document too large"
    )


class _Inflater:
    """Undo gzip/deflate with bounded output, so a small bomb cannot balloon.

    (The clients' own decoders inflate each network chunk without a bound.)
    """

    def __init__(self, decompressor: Any | None) -> None:
        self._z = decompressor

    @classmethod
    def for_encoding(cls, encoding: str) -> _Inflater:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            return cls(None)
        if encoding in ("gzip", "x-gzip", "deflate"):
            return cls(zlib.decompressobj(_GZIP_OR_ZLIB))
        raise FetchError(
            f"unsupported Content-Encoding {encoding!r}",
            public_message="unsupported Content-Encoding",
        )

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._z is None:
            return data
        try:
            return bytes(self._z.decompress(data, limit))
        except zlib.error as exc:
            raise MalformedError(
                f"corrupt compressed body: {exc}", public_message=_CORRUPT
            ) from exc

    def finish(self) -> None:
        if self._z is not None and not self._z.eof:
            raise MalformedError("truncated compressed body", public_message=_CORRUPT)


# --------------------------------------------------------------------------
# Content types


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``'application/ld+json; profile="x"'`` -> ``('application/ld+json', {'profile': 'x'})``."""
    essence, *raw_params = value.split(";")
    params: dict[str, str] = {}
    for raw in raw_params:
        name, sep, val = raw.partition("=")
        if sep:
            params[name.strip().lower()] = val.strip().strip('"')
    return essence.strip().lower(), params


def is_activitystreams_type(value: str) -> bool:
    """``application/activity+json``, or ``application/ld+json`` with the AS profile."""
    essence, params = parse_media_type(value)
    if essence == "application/activity+json":
        return True
    return essence == "application/ld+json" and AS_PROFILE in params.get("profile", "").split()


def is_jrd_type(value: str) -> bool:
    """``application/jrd+json``, or the ``application/json`` many servers send."""
    essence, _ = parse_media_type(value)
    return essence in ("application/jrd+json", "application/json")
