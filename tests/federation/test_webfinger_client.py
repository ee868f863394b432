"""WebFinger client: handle parsing, and resolution against a real loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from federation.errors import FetchError, MalformedError, UnsafeTargetError
from federation.fetch import Fetcher
from federation.fetch_client import FetchClient
from federation.netguard import StaticResolver
from federation.webfinger import parse_handle, resolve_handle, webfinger_url

WEBFINGER = "/.well-known/webfinger"
LD_AS_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

# --------------------------------------------------------------------------
# parse_handle and webfinger_url


@pytest.mark.parametrize(
    ("handle", "expected"),
    [
        ("@news@example.org", ("news", "example.org")),
        ("news@example.org", ("news", "example.org")),
        ("acct:news@example.org", ("news", "example.org")),
        ("  @News_Desk@Example.ORG.  ", ("News_Desk", "example.org")),
        ("news@127.0.0.1:8001", ("news", "127.0.0.1:8001")),
        ("news@[::1]:8001", ("news", "[::1]:8001")),
        ("news@bücher.example", ("news", "xn--bcher-kva.example")),
        ("tenants.union-east@social.example", ("tenants.union-east", "social.example")),
    ],
)
def test_parse_handle_accepts_the_usual_forms(handle: str, expected: tuple[str, str]) -> None:
    assert parse_handle(handle) == expected


@pytest.mark.parametrize(
    "handle",
    [
        "",
        "@",
        "news",
        "news@",
        "@example.org",
        "@news@host@extra",
        "news@user:pw@host",
        "news@host/path",
        "news@host?x=1",
        "news@host:0",
        "news@host:70000",
        "news@host:",
        "news@host:80:80",
        "news@host:abc",
        "news @host",
        "news@exa mple.org",
        "news@-bad.example",
        "news@a..b",
        "news@under_score.example",
        "news@[::1",
        "news@[not-an-ip]",
        "news@[::1]extra",
        "acct:@news@host",
        "ne/ws@host",
        "https://example.org/@news",
    ],
)
def test_parse_handle_refuses_junk(handle: str) -> None:
    with pytest.raises(MalformedError):
        parse_handle(handle)


def test_webfinger_url_builds_the_acct_query() -> None:
    assert webfinger_url("news", "127.0.0.1:8001", scheme="http") == (
        "http://127.0.0.1:8001/.well-known/webfinger?resource=acct:news@127.0.0.1:8001"
    )


def test_webfinger_url_refuses_other_schemes() -> None:
    with pytest.raises(ValueError, match="scheme"):
        webfinger_url("news", "example.org", scheme="ftp")


# --------------------------------------------------------------------------
# A loopback WebFinger server (one per module: uvicorn takes ~0.2 s to stop)

shared_loop = pytest.mark.asyncio(loop_scope="module")


class WebFingerSite:
    def __init__(self) -> None:
        self.answer: Callable[[Request], Response] = lambda _r: PlainTextResponse("", 404)
        self.resources: list[str | None] = []
        self.port = 0

    async def webfinger(self, request: Request) -> Response:
        self.resources.append(request.query_params.get("resource"))
        return self.answer(request)


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


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def running_site() -> AsyncIterator[WebFingerSite]:
    site = WebFingerSite()
    async with serve(Starlette(routes=[Route(WEBFINGER, site.webfinger)])) as port:
        site.port = port
        yield site


@pytest.fixture
def site(running_site: WebFingerSite) -> WebFingerSite:
    running_site.resources.clear()
    return running_site


@pytest_asyncio.fixture(loop_scope="module")
async def fetcher() -> AsyncIterator[Fetcher]:
    resolver = StaticResolver({"nodes.example": "127.0.0.1"})
    async with FetchClient(allow_private=True, resolver=resolver) as client:
        yield Fetcher(client, deadline=2.0)


def jrd(doc: dict[str, Any], content_type: str = "application/jrd+json") -> Callable[..., Response]:
    body = json.dumps(doc).encode()
    return lambda _request: Response(body, media_type=content_type)


def self_link(href: str, media_type: str = "application/activity+json") -> dict[str, str]:
    return {"rel": "self", "type": media_type, "href": href}


# --------------------------------------------------------------------------
# resolve_handle


@shared_loop
async def test_resolve_handle_returns_the_activitypub_self_link(
    site: WebFingerSite, fetcher: Fetcher
) -> None:
    host = f"127.0.0.1:{site.port}"
    actor = f"http://{host}/actor"
    site.answer = jrd(
        {
            "subject": f"acct:news@{host}",
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "href": f"http://{host}/"},
                self_link(f"http://{host}/news.html", "text/html"),
                self_link(actor),
            ],
        }
    )
    assert await resolve_handle(fetcher, f"@news@{host}", scheme="http") == actor
    assert site.resources == [f"acct:news@{host}"]


@shared_loop
async def test_resolve_handle_accepts_the_ld_json_self_link_and_plain_json(
    site: WebFingerSite, fetcher: Fetcher
) -> None:
    actor = f"http://127.0.0.1:{site.port}/actor"
    site.answer = jrd(
        {"subject": "acct:news@x", "links": [self_link(actor, LD_AS_TYPE)]}, "application/json"
    )
    assert await resolve_handle(fetcher, f"news@127.0.0.1:{site.port}", scheme="http") == actor


@shared_loop
async def test_resolve_handle_works_with_a_made_up_host_and_port(
    site: WebFingerSite, fetcher: Fetcher
) -> None:
    host = f"nodes.example:{site.port}"
    site.answer = jrd({"subject": f"acct:news@{host}", "links": [self_link(f"http://{host}/a")]})
    assert await resolve_handle(fetcher, f"acct:news@{host}", scheme="http") == f"http://{host}/a"
    assert site.resources == [f"acct:news@{host}"]


@shared_loop
async def test_resolve_handle_requires_a_subject(site: WebFingerSite, fetcher: Fetcher) -> None:
    site.answer = jrd({"links": [self_link(f"http://127.0.0.1:{site.port}/actor")]})
    with pytest.raises(MalformedError, match="no subject"):
        await resolve_handle(fetcher, f"news@127.0.0.1:{site.port}", scheme="http")


@pytest.mark.parametrize(
    "links",
    [
        None,
        [],
        [{"rel": "http://webfinger.net/rel/profile-page", "href": "http://h/"}],
        [self_link("http://h/news", "text/html")],
        [{"rel": "self", "href": "http://h/actor"}],  # no type
        [{"rel": "self", "type": "application/activity+json", "href": 42}],
        [self_link("/relative/actor")],
        [self_link("ftp://h/actor")],
        "not a list",
    ],
)
@shared_loop
async def test_resolve_handle_requires_an_activitypub_self_link(
    site: WebFingerSite, fetcher: Fetcher, links: Any
) -> None:
    site.answer = jrd({"subject": "acct:news@h", "links": links})
    with pytest.raises(MalformedError, match="self link"):
        await resolve_handle(fetcher, f"news@127.0.0.1:{site.port}", scheme="http")


@shared_loop
async def test_resolve_handle_reports_an_unknown_account(
    site: WebFingerSite, fetcher: Fetcher
) -> None:
    site.answer = lambda _r: PlainTextResponse("no such account", 404)
    with pytest.raises(FetchError, match="HTTP 404"):
        await resolve_handle(fetcher, f"ghost@127.0.0.1:{site.port}", scheme="http")


@shared_loop
async def test_webfinger_redirect_loop_stops_after_three_hops(
    site: WebFingerSite, fetcher: Fetcher
) -> None:
    site.answer = lambda request: RedirectResponse(str(request.url), status_code=302)
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await resolve_handle(fetcher, f"news@127.0.0.1:{site.port}", scheme="http")
    assert len(site.resources) == 4  # the request and three followed redirects


@shared_loop
async def test_resolve_handle_refuses_a_loopback_host_in_production(site: WebFingerSite) -> None:
    async with FetchClient(allow_private=False) as client:
        with pytest.raises(UnsafeTargetError):
            await resolve_handle(Fetcher(client), f"news@127.0.0.1:{site.port}")
    assert site.resources == []


@shared_loop
async def test_resolve_handle_refuses_an_unknown_scheme(fetcher: Fetcher) -> None:
    with pytest.raises(ValueError, match="scheme"):
        await resolve_handle(fetcher, "news@example.org", scheme="gopher")
