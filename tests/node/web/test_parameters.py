"""Hostile path and query values on every public and ActivityPub route: a 400 or
a 404 with a message, never a 5xx (NUL bytes must not reach PostgreSQL, huge
numbers must not overflow SQLite's or PostgreSQL's integers)."""

from __future__ import annotations

from tests.support.nodes import Node

AS2 = "application/activity+json"
HTML = "text/html"

HOSTILE = [
    "%00",
    "a%00b",
    "99999999999999999999999999",
    "9223372036854775808",
    "-1",
    "0",
    "1e9",
    "%ff",
    "%c0%80",
    "x" * 5000,
    "%F0%9F%92%A9",
    "..%2F..%2Fetc",
]

ROUTES = [
    "/actors/network/outbox?page={}",
    "/actors/network/followers?page={}",
    "/actors/network/following?page={}",
    "/actor/outbox?page={}",
    "/actors/{}",
    "/actors/{}/outbox",
    "/actors/{}/followers?page=1",
    "/actors/{}/events",
    "/events/{}",
    "/callouts/{}",
    "/activities/{}",
    "/calendar/events/{}",
    "/calendar/callouts/{}",
    "/tags/{}",
    "/calendar?node={}&tag={}&page={}",
    "/callouts?node={}&page={}",
    "/?page={}",
    "/events.ics?node={}&tag={}",
    "/calendar.ics?node={}",
    "/events.atom?tag={}",
    "/callouts.atom?node={}",
    "/.well-known/webfinger?resource={}",
    "/.well-known/webfinger?resource=acct:{}@127.0.0.1:8000",
    "/.well-known/webfinger?resource=http://127.0.0.1:8000/actors/{}",
    "/follow?handle={}",
]


async def test_hostile_values_on_every_route_are_never_a_server_error(node: Node) -> None:
    failures = []
    for route in ROUTES:
        for value in HOSTILE:
            for accept in (AS2, HTML):
                path = route.replace("{}", value)
                try:
                    status = (await node.client.get(path, headers={"Accept": accept})).status_code
                except Exception as exc:  # the in-process app raised: a 500 over HTTP
                    status = 500
                    path = f"{path} ({type(exc).__name__})"
                if status >= 500:
                    failures.append(f"{accept[:9]} {path[:100]} -> {status}")
    assert failures == []


async def test_huge_page_number_is_a_400(node: Node) -> None:
    for kind in ("outbox", "followers", "following"):
        for page in ("99999999999999999999999999", "9223372036854775807", "-3", "1e3"):
            response = await node.client.get(
                f"/actors/network/{kind}?page={page}", headers={"Accept": AS2}
            )
            assert response.status_code == 400, (kind, page)
            assert "page must be a whole number" in response.json()["error"]


async def test_nul_in_an_activity_id_is_a_404(node: Node) -> None:
    response = await node.client.get("/activities/%00", headers={"Accept": AS2})
    assert response.status_code == 404
