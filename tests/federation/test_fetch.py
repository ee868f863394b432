"""Fetcher rules, proven against real HTTP servers on loopback.

Two made-up host names, ``a.example`` and ``b.example``, both resolve (through
a StaticResolver) to the same loopback server, so "another host" is reachable
and the tests can show that the fetcher never went there.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Callable, Mapping
from urllib.parse import unquote, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import Response

from federation.cavage import HttpSigner
from federation.errors import FetchError, TransientFetchError, UnsafeTargetError
from federation.fetch import (
    ACTIVITY_ACCEPT,
    JRD_ACCEPT,
    Fetcher,
    is_activitystreams_type,
    next_hop,
)
from federation.fetch_client import FetchClient
from federation.signed import SignedRequest
from tests.support.closing_relay import closing_relay
from tests.support.signing import KEY_ID, NOW, lookup_of, verify
from tests.support.site import (
    AS_TYPE,
    LD_AS_TYPE,
    RESOLVER,
    Site,
    document,
    redirect,
    shared_loop,
)


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


def stamp(method: str, url: str, headers: Mapping[str, str]) -> dict[str, str]:
    """Stands in for the HTTP-signature signer: stamps each request with its URL."""
    return {"Signature": f"signed {method} {url} {headers['Accept']}"}


@shared_loop
async def test_the_signer_signs_every_redirect_hop_for_its_own_url(
    site: Site, client: FetchClient
) -> None:
    url = site.url("/start")
    site.routes["/start"] = redirect("/final")
    site.routes["/final"] = document({"id": url})
    await Fetcher(client, signer=stamp).fetch_object(url)
    assert [h["signature"] for _, _, h in site.seen] == [
        f"signed GET {url} {ACTIVITY_ACCEPT}",
        f"signed GET {site.url('/final')} {ACTIVITY_ACCEPT}",
    ]


@shared_loop
@pytest.mark.parametrize(
    "path", ["/actor", "/p%7Eq/x", "/x?a=%2F&b=c%20d", "/caf\u00e9?q=\u00e9", "/%zz", "/a%2Fb"]
)
async def test_a_signed_fetch_verifies_against_the_request_as_received(
    site: Site, client: FetchClient, key: rsa.RSAPrivateKey, path: str
) -> None:
    """The signature covers the request target and Host exactly as sent, whatever
    the URL's spelling (a client that re-quotes the path after signing fails here)."""
    received: list[SignedRequest] = []

    def record(request: Request) -> Response:
        raw_path = request.scope["raw_path"].decode("ascii")
        query = request.scope["query_string"].decode("ascii")
        received.append(SignedRequest("GET", raw_path, query, request.headers.raw, b"", "http"))
        return Response(json.dumps({"id": url}), media_type=AS_TYPE)

    url = site.url(path)
    site.routes[unquote(urlsplit(url).path)] = record  # the path as the site decodes it
    signer = HttpSigner(KEY_ID, key, clock=lambda: NOW)
    assert (await Fetcher(client, signer=signer).fetch_object(url))["id"] == url
    [request] = received
    assert "accept" in request.fields["signature"]
    assert (await verify(request, lookup_of(key))).key_id == KEY_ID


@shared_loop
async def test_fetches_to_one_host_share_a_connection_kept_alive(
    site: Site, fetcher: Fetcher
) -> None:
    peers: list[tuple[str, int]] = []

    def answer(request: Request) -> Response:
        assert request.client is not None
        peers.append((request.headers["host"].split(":")[0], request.client.port))
        return Response(json.dumps({"id": str(request.url)}), media_type=AS_TYPE)

    for path in ("/one", "/two", "/three"):
        site.routes[path] = answer
    for url in (site.url("/one"), site.url("/two"), site.url("/three", host="b.example")):
        await fetcher.fetch_object(url)
    [(_, first), (_, second), (other_host, third)] = peers
    assert first == second  # the same connection, kept alive
    assert other_host == "b.example" and third != first  # another host: its own


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
@pytest.mark.parametrize(
    ("status", "worth_retrying"),
    [(201, False), (204, False), (404, False), (410, False), (429, True), (500, True), (503, True)],
)
async def test_fetch_object_requires_status_200_and_says_when_a_retry_may_work(
    site: Site, fetcher: Fetcher, status: int, worth_retrying: bool
) -> None:
    url = site.url("/actor")
    body = json.dumps({"id": url}).encode()
    site.routes["/actor"] = lambda _r: Response(body, status_code=status, media_type=AS_TYPE)
    with pytest.raises(FetchError, match=f"HTTP {status}") as refused:
        await fetcher.fetch_object(url)
    assert isinstance(refused.value, TransientFetchError) is worth_retrying


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


@shared_loop
async def test_a_refused_connection_is_a_fetch_error(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once this closes
    with pytest.raises(TransientFetchError, match="failed"):
        await fetcher.fetch_object(f"http://127.0.0.1:{port}/actor")


@shared_loop
async def test_a_kept_alive_connection_closed_as_it_is_reused_is_asked_again_once(
    site: Site, fetcher: Fetcher
) -> None:
    async with closing_relay("127.0.0.1", site.port) as relay:
        url = f"http://a.example:{relay.port}/actor"
        site.routes["/actor"] = document({"id": url})
        assert (await fetcher.fetch_object(url))["id"] == url  # its connection stays open
        relay.close_reused = 1  # the server's keep-alive timer fires as the next GET arrives
        assert (await fetcher.fetch_object(url))["id"] == url
    assert (relay.closed, relay.connections) == (1, 2)
    assert site.paths_requested() == ["/actor", "/actor"]


@shared_loop
async def test_a_server_that_closes_without_answering_is_asked_twice_then_given_up(
    site: Site, fetcher: Fetcher
) -> None:
    async with closing_relay("127.0.0.1", site.port) as relay:
        url = f"http://a.example:{relay.port}/actor"
        site.routes["/actor"] = document({"id": url})
        relay.drop = 3
        with pytest.raises(TransientFetchError, match="failed"):
            await fetcher.fetch_object(url)
    assert (relay.closed, relay.drop) == (2, 1)
    assert site.paths_requested() == []


@shared_loop
@pytest.mark.parametrize("url", ["/actor", "actor", "", "http://[::1/x"])
async def test_fetch_object_refuses_urls_that_are_not_absolute(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError):
        await fetcher.fetch_object(url)


@shared_loop
async def test_production_client_refuses_a_loopback_target(site: Site) -> None:
    async with FetchClient(allow_private=False, resolver=RESOLVER) as guarded:
        with pytest.raises(UnsafeTargetError):
            await Fetcher(guarded).fetch_object(f"https://a.example:{site.port}/actor")
        with pytest.raises(UnsafeTargetError):
            await Fetcher(guarded).fetch_object(f"https://127.0.0.1:{site.port}/actor")
    assert site.seen == []


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
