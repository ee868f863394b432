"""Remote follow from the public site: the visitor types their own handle, the
node asks their server's WebFinger (a real server on loopback) for its
subscribe template and sends them there; every failure is shown in the form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from node.blocks import block_domain
from node.web.remote_follow import fill_template, subscribe_template
from tests.support.fediverse import InteractiveServer, fake_server, serve
from tests.support.nodes import Node, free_port
from tests.support.pages import HTML, check_page

ACTOR = "http://127.0.0.1:8000/actors/network"


@pytest.fixture
async def mastodon() -> AsyncIterator[InteractiveServer]:
    server = InteractiveServer(host="127.0.0.1", port=free_port())
    server.add_account("alice")
    async with serve(server):
        yield server


async def submit(node: Node, handle: str) -> tuple[int, str, dict[str, str]]:
    response = await node.client.post("/follow", data={"handle": handle}, headers=HTML)
    return response.status_code, response.text, dict(response.headers)


def assert_form_error(page: str, message: str) -> None:
    check_page(page)
    assert '<p id="follow-error" class="error">' in page
    assert message in page
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="follow-hint follow-error"' in page


async def test_remote_follow_sends_the_visitor_to_their_server(
    node: Node, mastodon: InteractiveServer
) -> None:
    status, _, headers = await submit(node, f"@alice@{mastodon.authority}")
    assert status == 303
    assert headers["location"] == (
        f"{mastodon.base}/authorize_interaction?uri={quote(ACTOR, safe='')}"
    )
    assert headers["cache-control"] == "no-store"


async def test_remote_follow_accepts_a_handle_without_the_leading_at(
    node: Node, mastodon: InteractiveServer
) -> None:
    status, _, headers = await submit(node, f"  alice@{mastodon.authority} ")
    assert status == 303
    assert headers["location"].startswith(f"{mastodon.base}/authorize_interaction?uri=http")


async def test_follow_page_explains_both_ways_to_follow(node: Node) -> None:
    response = await node.client.get("/follow", headers=HTML)
    assert response.status_code == 200
    page = response.text
    check_page(page)
    assert '<code id="handle" class="handle">@network@127.0.0.1:8000</code>' in page
    assert '<input id="follow-handle" name="handle"' in page
    assert "follow-error" not in page


async def test_a_malformed_handle_is_explained_in_the_form(node: Node) -> None:
    for handle in ["", "alice", "@alice", "alice@", "@a b@host.example", "x" * 400]:
        status, page, headers = await submit(node, handle)
        assert status == 400, handle
        assert_form_error(page, "fediverse address")
        assert headers["cache-control"] == "no-store"


async def test_the_typed_handle_is_kept_and_escaped(node: Node) -> None:
    status, page, _ = await submit(node, '"><script>alert(1)</script>@x')
    assert status == 400
    assert "<script>alert(1)" not in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@x"' in page


async def test_an_unknown_account_is_explained(node: Node, mastodon: InteractiveServer) -> None:
    status, page, _ = await submit(node, f"@nobody@{mastodon.authority}")
    assert status == 502
    assert_form_error(page, f"We could not find nobody at {mastodon.authority}.")


async def test_an_unreachable_server_is_explained(node: Node) -> None:
    closed = f"127.0.0.1:{free_port()}"
    status, page, _ = await submit(node, f"@alice@{closed}")
    assert status == 502
    assert_form_error(page, f"We could not find alice at {closed}.")


async def test_a_server_without_a_subscribe_template_is_explained(node: Node) -> None:
    async with fake_server() as plain:
        plain.add_account("alice")
        status, page, _ = await submit(node, f"@alice@{plain.authority}")
    assert status == 502
    assert_form_error(page, f"{plain.authority} has no follow page we can send you to.")


async def test_an_unusable_template_is_refused(node: Node, mastodon: InteractiveServer) -> None:
    for template in [
        "javascript:alert(1)//{uri}",
        "data:text/html,{uri}",
        "/relative/{uri}",
        "https://evil.example/\n{uri}",
        "https://mastodon.example/authorize_interaction",  # no {uri}
    ]:
        mastodon.subscribe_template = template
        status, page, headers = await submit(node, f"@alice@{mastodon.authority}")
        assert status == 502, template
        assert "location" not in headers
        assert_form_error(page, "has no follow page we can send you to")


async def test_a_blocked_server_is_never_asked(node: Node, mastodon: InteractiveServer) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await block_domain(session, mastodon.authority)
    node.ctx.blocks.invalidate()
    status, page, _ = await submit(node, f"@alice@{mastodon.authority}")
    assert status == 403
    assert_form_error(page, f"This network does not connect with {mastodon.authority}.")


async def test_an_oversized_form_is_refused(node: Node) -> None:
    form = {**HTML, "Content-Type": "application/x-www-form-urlencoded"}
    body = b"handle=" + b"a" * 10_000
    response = await node.client.post("/follow", content=body, headers=form)
    assert response.status_code == 413
    check_page(response.text)


def test_subscribe_template_is_read_from_the_webfinger_links() -> None:
    rel = "http://ostatus.org/schema/1.0/subscribe"
    jrd = {
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": "https://m.example/u/a"},
            {"rel": rel},
            {"rel": rel, "template": "https://m.example/authorize_interaction?uri={uri}"},
        ]
    }
    assert subscribe_template(jrd) == "https://m.example/authorize_interaction?uri={uri}"
    assert subscribe_template({"links": "nope"}) is None
    assert subscribe_template({}) is None
    filled = fill_template(
        "https://m.example/authorize_interaction?uri={uri}",
        "https://n.example/actors/network",
        schemes=("https",),
    )
    assert filled == (
        "https://m.example/authorize_interaction?uri=https%3A%2F%2Fn.example%2Factors%2Fnetwork"
    )
    assert fill_template("http://m.example/?uri={uri}", "x", schemes=("https",)) is None
