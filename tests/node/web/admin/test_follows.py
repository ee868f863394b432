"""The admin pages for following other nodes and answering followers
(node/web/admin/follows.py): following by handle (resolve, show, confirm),
unfollowing, and approving, refusing or removing followers.

Most tests drive an in-process node; the remote side is a fediverse stand-in
served over real loopback HTTP (signing with ``httpsig``), or a second real
Tocsin node for the whole follow flow. Helpers: ``tests.support.admin_federation``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.responses import JSONResponse

from node.models import (
    Delivery,
    Follower,
    Following,
    OutboundActivity,
)
from tests.e2e import conftest as e2e
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.admin import csrf_of, post_form
from tests.support.admin_federation import (
    add_following_row,
    add_remote,
    audit_actions,
    count,
    handle_of,
    logged_in,
    row_id,
    save_profile,
    sent,
)
from tests.support.fediverse import AS2, fake_server
from tests.support.nodes import Node

# Real nodes, each its own HTTP server on a loopback port (the e2e fixture, here by this name).
real_nodes = e2e.start_node

# -- following ----------------------------------------------------------------------------


async def test_follow_shows_the_remote_actor_before_sending_anything(node: Node) -> None:
    async with fake_server() as server, logged_in(node) as admin:
        account = server.add_account("mallory")
        document = account.document()
        document["summary"] = "<p>Hello <script>alert(1)</script><b>world</b></p>"
        document["manuallyApprovesFollowers"] = True
        server.override[f"/users/{account.name}"] = lambda: JSONResponse(document, media_type=AS2)
        handle = f"@mallory@{server.authority}"
        page = await post_form(
            admin, "/admin/federation", "/admin/federation/follow", handle=handle
        )
        assert page.status_code == 200
        assert "Mallory" in page.text and server.authority in page.text
        assert "Hello" in page.text and "world" in page.text
        assert "<script>" not in page.text and "alert(1)" not in page.text
        assert "<b>" not in page.text
        assert "approves its followers by hand" in page.text
        assert await count(node, Following) == 0 and await sent(node, "Follow") == []

        remote_id = page.text.split('name="remote_id" value="')[1].split('"')[0]
        confirmed = await admin.post(
            "/admin/federation/follow/confirm",
            data={"csrf_token": csrf_of(page.text), "remote_id": remote_id},
        )
        assert confirmed.status_code == 303
        listing = await admin.get(confirmed.headers["location"])
        assert "Follow request sent" in listing.text and "pending" in listing.text
    [follow] = await sent(node, "Follow")
    assert follow["object"] == account.id and follow["actor"] == node.actor_id
    async with node.ctx.sessions() as session:
        row = await session.scalar(select(Following))
        assert row is not None and row.state == "pending" and row.follow_uri == follow["id"]
        delivery = await session.scalar(select(Delivery))
        assert delivery is not None and delivery.inbox_url == account.inbox
    assert await audit_actions(node) == [("follow", account.id)]


FOLLOW_FORM_ERRORS = [
    ("", "Enter the handle of the node to follow"),
    ("not a handle", "That is not a handle"),
    ("@network@127.0.0.1:8000", "this node&#39;s own server"),
    ("http://127.0.0.1:8000/actors/network", "this node&#39;s own server"),
    ("@nobody@127.0.0.1:1", "Could not find that node"),
]


async def test_follow_form_shows_what_is_wrong_beside_the_field(node: Node) -> None:
    async with logged_in(node) as admin:
        for handle, message in FOLLOW_FORM_ERRORS:
            page = await post_form(
                admin, "/admin/federation", "/admin/federation/follow", handle=handle
            )
            assert page.status_code == 400, handle
            assert message in page.text.split('id="handle-error">')[1].split("</p>")[0], handle
            assert 'aria-invalid="true"' in page.text
    assert await count(node, Following) == 0 and await count(node, OutboundActivity) == 0


async def test_following_an_actor_already_followed_is_refused(node: Node) -> None:
    async with fake_server() as server, logged_in(node) as admin:
        server.add_account("ally")
        remote = await node.ctx.directory.actor_by_handle(f"@ally@{server.authority}")
        await add_following_row(node, remote, "accepted")
        page = await post_form(
            admin, "/admin/federation", "/admin/federation/follow", handle=remote.uri
        )
        assert page.status_code == 400 and "already follows" in page.text
        confirm = await post_form(
            admin, "/admin/federation", "/admin/federation/follow/confirm", remote_id=str(remote.id)
        )
        assert confirm.status_code == 400 and "Already following" in confirm.text
    assert await count(node, OutboundActivity) == 0


async def test_unfollow_sends_undo_and_drops_the_follow(node: Node) -> None:
    remote = await add_remote(node, "far.example", "ally", following="accepted")
    following_id = await row_id(node, Following, remote)
    async with logged_in(node) as admin:
        page = await admin.get("/admin/federation")
        assert "@ally@far.example" in page.text and "accepted" in page.text
        response = await post_form(
            admin, "/admin/federation", f"/admin/federation/following/{following_id}/unfollow"
        )
        assert response.status_code == 303
    [undo] = await sent(node, "Undo")
    assert undo["object"]["type"] == "Follow" and undo["object"]["object"] == remote.uri
    assert await count(node, Following) == 0
    assert await audit_actions(node) == [("unfollow", remote.uri)]


async def test_unknown_ids_get_a_404_page(node: Node) -> None:
    async with logged_in(node) as admin:
        for action, fields in [
            ("/admin/federation/following/999/unfollow", {}),
            ("/admin/federation/followers/999/approve", {}),
            ("/admin/federation/follow/confirm", {"remote_id": "999"}),
            ("/admin/federation/follow/confirm", {"remote_id": "junk"}),
            ("/admin/federation/blocks/remove", {"domain": "never.example"}),
            ("/admin/federation/allowlist/remove", {"domain": "never.example"}),
        ]:
            response = await post_form(admin, "/admin/federation", action, **fields)
            assert response.status_code == 404, action
            assert "Not found" in response.text and "<h1>" in response.text
        remote = await add_remote(node, "far.example", follower="pending")
        bogus = f"/admin/federation/followers/{await row_id(node, Follower, remote)}/promote"
        assert (await post_form(admin, "/admin/federation", bogus)).status_code == 404
    assert await audit_actions(node) == []


# -- followers ----------------------------------------------------------------------------


async def test_approving_a_request_accepts_it_and_tells_the_follower(node: Node) -> None:
    remote = await add_remote(node, "near.example", "nadia", follower="pending")
    follower_id = await row_id(node, Follower, remote)
    async with logged_in(node) as admin:
        page = await admin.get("/admin/federation/followers")
        assert "Follow requests (1)" in page.text and "@nadia@near.example" in page.text
        action = f"/admin/federation/followers/{follower_id}/approve"
        response = await post_form(admin, "/admin/federation/followers", action)
        assert response.status_code == 303
        assert "Followers (1)" in (await admin.get(response.headers["location"])).text
        again = await post_form(admin, "/admin/federation/followers", action)
        assert again.status_code == 400 and "already follows" in again.text
    [accept] = await sent(node, "Accept")
    assert accept["object"]["id"] == f"{remote.uri}/follows/1"
    assert await count(node, Follower, Follower.state == "accepted") == 1
    assert await audit_actions(node) == [("follower.approve", remote.uri)]


@pytest.mark.parametrize(("state", "action"), [("pending", "reject"), ("accepted", "remove")])
async def test_refusing_or_removing_a_follower_sends_reject(
    node: Node, state: str, action: str
) -> None:
    remote = await add_remote(node, "near.example", "nadia", follower=state)
    follower_id = await row_id(node, Follower, remote)
    async with logged_in(node) as admin:
        wrong = "remove" if action == "reject" else "reject"
        refused = await post_form(
            admin,
            "/admin/federation/followers",
            f"/admin/federation/followers/{follower_id}/{wrong}",
        )
        assert refused.status_code == 400 and 'role="alert"' in refused.text
        response = await post_form(
            admin,
            "/admin/federation/followers",
            f"/admin/federation/followers/{follower_id}/{action}",
        )
        assert response.status_code == 303
    [reject] = await sent(node, "Reject")
    assert reject["object"]["actor"] == remote.uri and reject["to"] == [remote.uri]
    assert await count(node, Follower) == 0
    assert await audit_actions(node) == [(f"follower.{action}", remote.uri)]


# -- the whole flow between two real nodes ------------------------------------------------


async def test_follow_by_handle_through_the_form_is_pending_until_approved(
    real_nodes: NodeFactory,
) -> None:
    a, b = await real_nodes("haringey"), await real_nodes("hackney")
    async with logged_in(a) as admin_a, logged_in(b) as admin_b:
        await save_profile(admin_b, display_name="Hackney Solidarity", approval="on")
        page = await post_form(
            admin_a, "/admin/federation", "/admin/federation/follow", handle=handle_of(b)
        )
        assert "Hackney Solidarity" in page.text and "approves its followers by hand" in page.text
        remote_id = page.text.split('name="remote_id" value="')[1].split('"')[0]
        await admin_a.post(
            "/admin/federation/follow/confirm",
            data={"csrf_token": csrf_of(page.text), "remote_id": remote_id},
        )
        assert "pending: waiting" in (await admin_a.get("/admin/federation")).text

        async def requested() -> bool:
            page = await admin_b.get("/admin/federation/followers")
            return "Follow requests (1)" in page.text and handle_of(a) in page.text

        await eventually(requested)
        async with b.ctx.sessions() as session:
            follower_id = await session.scalar(select(Follower.id))
        approved = await post_form(
            admin_b,
            "/admin/federation/followers",
            f"/admin/federation/followers/{follower_id}/approve",
        )
        assert approved.status_code == 303

        async def accepted() -> bool:
            page = await admin_a.get("/admin/federation")
            return "pending" not in page.text and "accepted" in page.text

        await eventually(accepted)
        async with a.ctx.sessions() as session:
            following_id = await session.scalar(select(Following.id))
        await post_form(
            admin_a, "/admin/federation", f"/admin/federation/following/{following_id}/unfollow"
        )

        async def dropped() -> bool:
            return await count(b, Follower) == 0

        await eventually(dropped)
