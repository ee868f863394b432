"""Fetcher rules, proven against real HTTP servers on loopback.

Two made-up host names, ``a.example`` and ``b.example``, both resolve (through
a StaticResolver) to the same loopback server, so "another host" is reachable
and the tests can show that the fetcher never went there.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from federation.errors import FetchError, MalformedError, TooLargeError, UnsafeTargetError
from federation.fetch import (
    ACTIVITY_ACCEPT,
    JRD_ACCEPT,
    Fetcher,
    is_activitystreams_type,
    next_hop,
)
from federation.netguard import StaticResolver, make_client

AS_TYPE = "application/activity+json"
LD_AS_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
RESOLVER = StaticResolver({"a.example": "127.0.0.1", "b.example": "127.0.0.1"})

# --------------------------------------------------------------------------
# A Starlette site served by uvicorn, with per-test routes


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Request], Response]] = {}
        self.seen: list[tuple[str, str, httpx.Headers]] = []  # (host, path, headers)
        self.port = 0

    def url(self, path: str, host: str = "a.example") -> str:
        return f"http://{host}:{self.port}{path}"

    async def dispatch(self, request: Request) -> Response:
        headers = httpx.Headers(request.headers.raw)
        self.seen.append((headers["host"].split(":")[0], request.url.path, headers))
        handler = self.routes.get(request.url.path)
        return handler(request) if handler else PlainTextResponse("not found", 404)

    def paths_requested(self, host: str = "a.example") -> list[str]:
        return [path for seen_host, path, _ in self.seen if seen_host == host]


@contextlib.asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


# One server per module (uvicorn takes ~0.2 s to stop), so tests using it share its loop.
shared_loop = pytest.mark.asyncio(loop_scope="module")


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
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(allow_private=True, resolver=RESOLVER) as client:
        yield client


@pytest.fixture
def fetcher(client: httpx.AsyncClient) -> Fetcher:
    return Fetcher(client, deadline=2.0)


def document(doc: Any, content_type: str = AS_TYPE, **headers: str) -> Callable[..., Response]:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return lambda _request: Response(body, media_type=content_type, headers=headers)


def redirect(location: str, status: int = 302) -> Callable[..., Response]:
    return lambda _request: RedirectResponse(location, status_code=status)


# --------------------------------------------------------------------------
# The happy path and the headers


@shared_loop
async def test_fetch_object_returns_the_document_whose_id_is_the_url(
    site: Site, fetcher: Fetcher
) -> None:
    url = site.url("/actor")
    site.routes["/actor"] = document({"id": url, "type": "Group"})
    assert await fetcher.fetch_object(url) == {"id": url, "type": "Group"}


@shared_loop
async def test_fetch_object_asks_for_activitystreams(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/actor")
    site.routes["/actor"] = document({"id": url})
    await fetcher.fetch_object(url)
    headers = site.seen[0][2]
    assert headers["accept"] == ACTIVITY_ACCEPT
    assert headers["host"] == f"a.example:{site.port}"


@shared_loop
async def test_fetch_object_accepts_ld_json_with_the_activitystreams_profile(
    site: Site, fetcher: Fetcher
) -> None:
    url = site.url("/note")
    site.routes["/note"] = document({"id": url}, LD_AS_TYPE)
    assert (await fetcher.fetch_object(url))["id"] == url


@shared_loop
async def test_fetch_object_accepts_a_gzip_encoded_document(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/note")
    body = gzip.compress(json.dumps({"id": url}).encode())
    site.routes["/note"] = document(body, **{"Content-Encoding": "gzip"})
    assert (await fetcher.fetch_object(url))["id"] == url


class HeaderAuth(httpx.Auth):
    """Stands in for the HTTP-signature signer: stamps each request with its URL."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Signature"] = f"signed {request.url}"
        yield request


@shared_loop
async def test_auth_signs_every_redirect_hop_for_its_own_url(
    site: Site, client: httpx.AsyncClient
) -> None:
    url = site.url("/start")
    site.routes["/start"] = redirect("/final")
    site.routes["/final"] = document({"id": url})
    await Fetcher(client, auth=HeaderAuth()).fetch_object(url)
    assert [h["signature"] for _, _, h in site.seen] == [
        f"signed {url}",
        f"signed {site.url('/final')}",
    ]


# --------------------------------------------------------------------------
# id, content type and status


@shared_loop
@pytest.mark.parametrize(
    "claimed_id",
    [
        lambda site: site.url("/someone-else"),
        lambda site: site.url("/actor", host="b.example"),
        lambda site: site.url("/actor/"),
        lambda site: None,
    ],
    ids=["other-path", "other-host", "trailing-slash", "missing"],
)
async def test_fetch_object_rejects_an_id_that_is_not_the_url(
    site: Site, fetcher: Fetcher, claimed_id: Callable[[Site], str | None]
) -> None:
    url = site.url("/actor")
    site.routes["/actor"] = document({"id": claimed_id(site), "type": "Person"})
    with pytest.raises(FetchError, match="has id"):
        await fetcher.fetch_object(url)


@shared_loop
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/html; charset=utf-8",
        "application/ld+json",
        'application/ld+json; profile="https://example.org/other"',
        "text/plain",
    ],
)
async def test_fetch_object_rejects_non_activitystreams_content_types(
    site: Site, fetcher: Fetcher, content_type: str
) -> None:
    url = site.url("/upload.json")
    site.routes["/upload.json"] = document({"id": url}, content_type)
    with pytest.raises(FetchError, match="content type"):
        await fetcher.fetch_object(url)


@shared_loop
@pytest.mark.parametrize("status", [201, 204, 404, 410, 500])
async def test_fetch_object_requires_status_200(site: Site, fetcher: Fetcher, status: int) -> None:
    url = site.url("/actor")
    body = json.dumps({"id": url}).encode()
    site.routes["/actor"] = lambda _r: Response(body, status_code=status, media_type=AS_TYPE)
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        await fetcher.fetch_object(url)


# --------------------------------------------------------------------------
# Redirects


@shared_loop
async def test_fetch_object_follows_three_same_host_redirects(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/r1")
    site.routes["/r1"] = redirect(site.url("/r2"), 301)
    site.routes["/r2"] = redirect("/r3", 307)  # relative Location
    site.routes["/r3"] = redirect(site.url("/final").replace("a.example", "A.Example"), 308)
    site.routes["/final"] = document({"id": url})
    assert (await fetcher.fetch_object(url))["id"] == url
    assert site.paths_requested() == ["/r1", "/r2", "/r3", "/final"]


@shared_loop
async def test_fetch_object_aborts_on_the_fourth_redirect(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/r1")
    for n in range(1, 5):
        site.routes[f"/r{n}"] = redirect(f"/r{n + 1}")
    site.routes["/r5"] = document({"id": url})
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await fetcher.fetch_object(url)
    assert site.paths_requested() == ["/r1", "/r2", "/r3", "/r4"]


@shared_loop
async def test_fetch_object_refuses_a_redirect_to_another_host(
    site: Site, fetcher: Fetcher
) -> None:
    url = site.url("/actor")
    site.routes["/actor"] = redirect(site.url("/actor", host="b.example"))
    with pytest.raises(FetchError, match="another host"):
        await fetcher.fetch_object(url)
    assert site.paths_requested("b.example") == []


@pytest.mark.parametrize(
    ("current", "location", "expected"),
    [
        ("https://a.example/x", "/y", "https://a.example/y"),
        ("https://a.example/x", "https://A.EXAMPLE./y", "https://A.EXAMPLE./y"),
        ("https://a.example/x", "https://a.example:443/y", "https://a.example:443/y"),
        ("http://a.example/x", "https://a.example/y", "https://a.example/y"),
    ],
)
def test_next_hop_allows_the_same_host(current: str, location: str, expected: str) -> None:
    assert next_hop(current, current, location) == expected


@pytest.mark.parametrize(
    "location",
    [
        "https://b.example/y",
        "https://a.example:8443/y",
        "//b.example/y",
        "https://a.example.evil.example/y",
        "http://a.example/y",  # leaves https
        "file:///etc/passwd",
    ],
)
def test_next_hop_refuses_other_hosts_and_downgrades(location: str) -> None:
    with pytest.raises(FetchError):
        next_hop("https://a.example/x", "https://a.example/x", location)


# --------------------------------------------------------------------------
# Size, time and shape limits


@shared_loop
async def test_fetch_object_rejects_a_body_over_the_limit_by_content_length(
    site: Site, fetcher: Fetcher
) -> None:
    url = site.url("/big")
    site.routes["/big"] = document(b" " * (1024 * 1024 + 1))
    with pytest.raises(TooLargeError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_a_chunked_body_over_the_limit(
    site: Site, client: httpx.AsyncClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB in 64 KiB chunks, no Content-Length
            yield b" " * 65536

    url = site.url("/big")
    site.routes["/big"] = lambda _r: StreamingResponse(chunks(), media_type=AS_TYPE)
    async with client.stream("GET", url) as response:  # the premise: no declared length
        assert "content-length" not in response.headers
        assert response.headers["transfer-encoding"] == "chunked"
    with pytest.raises(TooLargeError):
        await Fetcher(client).fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_a_gzip_bomb(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/bomb")
    bomb = gzip.compress(b" " * (16 * 1024 * 1024))  # 16 MiB inflated, ~16 KiB on the wire
    site.routes["/bomb"] = document(bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(TooLargeError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_too_deep_json(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/deep")
    site.routes["/deep"] = document(b'{"id": "x", "a": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    with pytest.raises(MalformedError, match="nested"):
        await fetcher.fetch_object(url)


@shared_loop
async def test_fetch_object_rejects_an_over_long_array(site: Site, fetcher: Fetcher) -> None:
    url = site.url("/poll")
    site.routes["/poll"] = document({"id": url, "oneOf": [{"name": str(n)} for n in range(5000)]})
    with pytest.raises(MalformedError, match="over the limit"):
        await fetcher.fetch_object(url)


@shared_loop
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"a string"', b"\xff\xfe{}"])
async def test_fetch_object_requires_a_json_object(
    site: Site, fetcher: Fetcher, body: bytes
) -> None:
    url = site.url("/odd")
    site.routes["/odd"] = document(body)
    with pytest.raises(MalformedError):
        await fetcher.fetch_object(url)


class TrickleServer:
    """Raw TCP: sends ``prefix`` at once, then ``trickle`` one byte per second (slowloris)."""

    def __init__(self, prefix: bytes, trickle: bytes) -> None:
        self.prefix, self.trickle = prefix, trickle
        self.trickled = 0
        self.port = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> TrickleServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(self.prefix)
            for byte in self.trickle:
                writer.write(bytes([byte]))
                await writer.drain()
                self.trickled += 1
                await asyncio.sleep(1.0)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\nContent-Length: 64\r\n\r\n"


@shared_loop
@pytest.mark.parametrize(
    ("prefix", "trickle"),
    [(b"", HEAD + b" " * 64), (HEAD, b" " * 64)],
    ids=["headers-trickle", "body-trickle"],
)
async def test_a_slow_trickle_is_cut_off_by_the_total_deadline(
    client: httpx.AsyncClient, prefix: bytes, trickle: bytes
) -> None:
    async with TrickleServer(prefix, trickle) as server:
        fetcher = Fetcher(client, deadline=1.0)
        with pytest.raises(FetchError, match="no complete answer within 1 s"):
            await fetcher.fetch_object(f"http://127.0.0.1:{server.port}/slow")
    assert 0 < server.trickled < len(trickle)


@shared_loop
async def test_a_declared_length_over_the_limit_is_refused_before_the_body_arrives(
    client: httpx.AsyncClient,
) -> None:
    head = HEAD.replace(b"Content-Length: 64", b"Content-Length: 2000000")
    async with TrickleServer(head, b" " * 10) as server:
        with pytest.raises(TooLargeError):
            await Fetcher(client, deadline=2.0).fetch_object(f"http://127.0.0.1:{server.port}/")
    assert server.trickled <= 1


# --------------------------------------------------------------------------
# Transport failures and the address guard


@shared_loop
async def test_a_refused_connection_is_a_fetch_error(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once this closes
    with pytest.raises(FetchError, match="failed"):
        await fetcher.fetch_object(f"http://127.0.0.1:{port}/actor")


@shared_loop
@pytest.mark.parametrize("url", ["/actor", "actor", "", "http://[::1/x"])
async def test_fetch_object_refuses_urls_that_are_not_absolute(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_production_client_refuses_a_loopback_target(site: Site) -> None:
    async with make_client(allow_private=False, resolver=RESOLVER) as guarded:
        with pytest.raises(UnsafeTargetError):
            await Fetcher(guarded).fetch_object(f"https://a.example:{site.port}/actor")
    assert site.seen == []


# --------------------------------------------------------------------------
# WebFinger documents


@shared_loop
@pytest.mark.parametrize(
    "content_type", ["application/jrd+json", "application/json; charset=utf-8"]
)
async def test_fetch_jrd_accepts_jrd_and_plain_json(
    site: Site, fetcher: Fetcher, content_type: str
) -> None:
    site.routes["/.well-known/webfinger"] = document({"subject": "acct:a@b"}, content_type)
    jrd = await fetcher.fetch_jrd(site.url("/.well-known/webfinger"))
    assert jrd == {"subject": "acct:a@b"}
    assert site.seen[0][2]["accept"] == JRD_ACCEPT


@shared_loop
async def test_fetch_jrd_rejects_html(site: Site, fetcher: Fetcher) -> None:
    site.routes["/.well-known/webfinger"] = document({"subject": "x"}, "text/html")
    with pytest.raises(FetchError, match="content type"):
        await fetcher.fetch_jrd(site.url("/.well-known/webfinger"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/activity+json", True),
        ("Application/Activity+JSON; charset=utf-8", True),
        (LD_AS_TYPE, True),
        ("application/ld+json;profile=https://www.w3.org/ns/activitystreams", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams x"', True),
        ("application/ld+json", False),
        ("application/json", False),
        ("text/html", False),
        ("", False),
    ],
)
def test_is_activitystreams_type(value: str, expected: bool) -> None:
    assert is_activitystreams_type(value) is expected
