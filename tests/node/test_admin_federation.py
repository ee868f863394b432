"""The admin federation pages: following by handle (resolve, show, confirm),
followers (approve, refuse, remove), blocks and allow-list-only mode.

Most tests drive an in-process node; the remote side is a fediverse stand-in
served over real loopback HTTP (signing with ``httpsig``), or a second real
Tocsin node for the whole follow flow.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.responses import JSONResponse

from federation.errors import ForbiddenError
from node.allowlist import AllowPolicy
from node.identity import group_actor
from node.models import (
    AuditEntry,
    Delivery,
    DomainAllow,
    DomainBlock,
    Follower,
    Following,
    OutboundActivity,
    RemoteActor,
    RemoteKey,
)
from node.settings_store import get_setting
from node.users import create_user
from tests.e2e import conftest as e2e
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.admin import csrf_of, login, post_form
from tests.support.fediverse import AS2, Account, fake_server
from tests.support.nodes import Node

PASSWORD = "a long admin passphrase"
FEDERATION_POSTS = [
    "/admin/federation/follow",
    "/admin/federation/follow/confirm",
    "/admin/federation/following/1/unfollow",
    "/admin/federation/followers/1/approve",
    "/admin/federation/blocks/add",
    "/admin/federation/blocks/remove",
    "/admin/federation/allowlist/mode",
    "/admin/federation/allowlist/add",
    "/admin/federation/allowlist/remove",
]
# Real nodes, each its own HTTP server on a loopback port (the e2e fixture, here by this name).
real_nodes = e2e.start_node
FEDERATION_PAGES = ["/admin/federation", "/admin/federation/followers", "/admin/federation/blocks"]


# -- helpers (the people tests use them too) ----------------------------------------------


@asynccontextmanager
async def logged_in(
    node: Node, username: str = "ada", role: str = "admin"
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser logged in to ``node`` as a new user with ``role``."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, username, role, PASSWORD, must_change=False)
    in_process = isinstance(node.client._transport, httpx.ASGITransport)
    transport = node.client._transport if in_process else None
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as client:
        assert (await login(client, username, PASSWORD)).status_code == 303
        yield client


async def count(node: Node, model: Any, *where: Any) -> int:
    async with node.ctx.sessions() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(query) or 0)


async def audit_actions(node: Node) -> list[tuple[str, str]]:
    async with node.ctx.sessions() as session:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id)
        )
        return [(action, target) for action, target in rows.all() if action != "login"]


async def add_remote(
    node: Node,
    domain: str,
    name: str = "someone",
    *,
    follower: str | None = None,
    following: str | None = None,
) -> RemoteActor:
    """A cached remote actor, following us and/or followed in the given states."""
    uri = f"https://{domain}/users/{name}"
    async with node.ctx.sessions() as session, session.begin():
        local = await group_actor(session)
        remote = RemoteActor(
            uri=uri,
            domain=domain,
            type="Person",
            preferred_username=name,
            name=name.title(),
            summary="",
            inbox=f"{uri}/inbox",
            shared_inbox=None,
            raw={"id": uri},
        )
        session.add(remote)
        await session.flush()
        if follower:
            follow = {"id": f"{uri}/follows/1", "type": "Follow", "actor": uri}
            session.add(
                Follower(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=follow["id"],
                    follow_activity={**follow, "object": node.actor_id},
                    state=follower,
                )
            )
        if following:
            session.add(
                Following(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=f"{node.base_url}/activities/{uuid.uuid4().hex}",
                    state=following,
                )
            )
    return remote


async def row_id(node: Node, model: Any, remote: RemoteActor) -> int:
    async with node.ctx.sessions() as session:
        found = await session.scalar(select(model.id).where(model.remote_actor_id == remote.id))
        assert found is not None
        return int(found)


async def sent(node: Node, kind: str) -> list[dict[str, Any]]:
    async with node.ctx.sessions() as session:
        bodies = await session.scalars(
            select(OutboundActivity.body)
            .where(OutboundActivity.type == kind)
            .order_by(OutboundActivity.id)
        )
        return [json.loads(body) for body in bodies.all()]


async def deliver(node: Node, account: Account, activity: dict[str, Any]) -> httpx.Response:
    """POST ``activity`` to the in-process node's inbox, signed by ``account``, and
    wait until the node has processed it."""
    url = f"{node.actor_id}/inbox"
    body = json.dumps(activity).encode()
    response = await node.client.post(url, content=body, headers=account.signed_headers(url, body))
    await node.ctx.inbound.wait_idle()
    return response


def handle_of(node: Node) -> str:
    return f"@{node.settings.node_name}@{node.settings.host}"


# -- who may use these pages --------------------------------------------------------------


async def test_editors_get_403_on_every_federation_page(node: Node) -> None:
    async with logged_in(node, "rosa", "editor") as editor:
        token = csrf_of((await editor.get("/admin")).text)
        for page in FEDERATION_PAGES:
            assert (await editor.get(page)).status_code == 403, page
        for action in FEDERATION_POSTS:
            response = await editor.post(action, data={"csrf_token": token, "domain": "x.example"})
            assert response.status_code == 403, action
    assert await count(node, DomainBlock) == 0 and await audit_actions(node) == []


async def test_posts_without_a_csrf_token_are_refused(node: Node) -> None:
    async with logged_in(node) as admin:
        for action in FEDERATION_POSTS:
            response = await admin.post(action, data={"domain": "x.example", "mode": "on"})
            assert response.status_code == 403, action
    assert await count(node, DomainBlock) == 0 and await count(node, DomainAllow) == 0
    assert await get_setting_value(node, "allowlist_mode") is False


async def get_setting_value(node: Node, key: str) -> Any:
    async with node.ctx.sessions() as session:
        return await get_setting(session, key)


async def test_visitors_are_sent_to_the_login_form(node: Node) -> None:
    response = await node.client.get("/admin/federation/blocks")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


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


async def add_following_row(node: Node, remote: RemoteActor, state: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        local = await group_actor(session)
        session.add(
            Following(
                local_actor_id=local.id,
                remote_actor_id=remote.id,
                follow_uri=f"{node.base_url}/activities/{uuid.uuid4().hex}",
                state=state,
            )
        )


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


# -- blocks -------------------------------------------------------------------------------


async def test_block_drops_follows_refuses_the_inbox_and_fetches_until_unblocked(
    node: Node,
) -> None:
    async with fake_server() as server, logged_in(node) as admin:
        mallory = server.add_account("mallory")
        assert (await deliver(node, mallory, mallory.follow(node.actor_id))).status_code == 202
        assert await count(node, Follower, Follower.state == "accepted") == 1
        assert await count(node, Delivery) == 1  # the Accept, not sent yet (no worker here)
        await add_remote(node, "elsewhere.example", following="accepted")

        bad = await post_form(admin, "/admin/federation/blocks", "/admin/federation/blocks/add")
        assert bad.status_code == 400 and 'id="domain-error"' in bad.text
        own = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/blocks/add",
            domain=node.settings.host,
        )
        assert own.status_code == 400 and "own domain" in own.text
        long_reason = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/blocks/add",
            domain=server.authority,
            reason="x" * 501,
        )
        assert long_reason.status_code == 400 and 'id="reason-error"' in long_reason.text
        assert await count(node, DomainBlock) == 0  # nothing half-saved

        response = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/blocks/add",
            domain=server.authority,
            reason="harassment",
        )
        assert response.status_code == 303
        page = await admin.get("/admin/federation/blocks")
        assert server.authority in page.text and "harassment" in page.text
        twice = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/blocks/add",
            domain=server.authority,
        )
        assert twice.status_code == 400 and "already blocked" in twice.text

        assert await count(node, Follower) == 0 and await count(node, Delivery) == 0
        assert await count(node, Following) == 1  # another server's follow stays
        refused = await deliver(node, mallory, mallory.follow(node.actor_id))
        assert refused.status_code == 403
        with pytest.raises(ForbiddenError):
            await node.ctx.directory.fetch(mallory.id)
        lookup = await post_form(
            admin,
            "/admin/federation",
            "/admin/federation/follow",
            handle=f"@mallory@{server.authority}",
        )
        assert lookup.status_code == 400 and "is blocked on this node" in lookup.text

        unblocked = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/blocks/remove",
            domain=server.authority,
        )
        assert unblocked.status_code == 303
        assert (await deliver(node, mallory, mallory.follow(node.actor_id))).status_code == 202
    assert await audit_actions(node) == [
        ("domain.block", server.authority),
        ("domain.unblock", server.authority),
    ]


# -- allow-list-only mode -----------------------------------------------------------------


async def test_allow_list_form_validates_and_lists_domains(node: Node) -> None:
    async with logged_in(node) as admin:
        page = await admin.get("/admin/federation/blocks")
        assert "<strong>Off.</strong>" in page.text
        for value, message in [
            ("", "Enter a domain"),
            ("not a domain!", "only letters, digits"),
            ("localhostish", "does not look like a domain"),
            (node.settings.host, "always allowed"),
        ]:
            response = await post_form(
                admin,
                "/admin/federation/blocks",
                "/admin/federation/allowlist/add",
                allow_domain=value,
            )
            assert response.status_code == 400, value
            assert message in response.text.split('id="allow_domain-error">')[1].split("</p>")[0]
        added = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/allowlist/add",
            allow_domain="Friends.Example",
        )
        assert added.status_code == 303
        duplicate = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/allowlist/add",
            allow_domain="friends.example",
        )
        assert duplicate.status_code == 400 and "already on the allow list" in duplicate.text
        bad_mode = await post_form(
            admin, "/admin/federation/blocks", "/admin/federation/allowlist/mode", mode="maybe"
        )
        assert bad_mode.status_code == 400 and "Choose on or off" in bad_mode.text
        on = await post_form(
            admin, "/admin/federation/blocks", "/admin/federation/allowlist/mode", mode="on"
        )
        assert on.status_code == 303
        page = await admin.get("/admin/federation/blocks")
        assert "<strong>On.</strong>" in page.text and "friends.example" in page.text
        removed = await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/allowlist/remove",
            domain="friends.example",
        )
        assert removed.status_code == 303
        assert "federates with no one" in (await admin.get("/admin/federation/blocks")).text
    assert await audit_actions(node) == [
        ("allowlist.add", "friends.example"),
        ("allowlist.on", ""),
        ("allowlist.remove", "friends.example"),
    ]


async def test_allow_list_mode_stops_deliveries_to_unlisted_servers(node: Node) -> None:
    await add_remote(node, "friends.example", "ally", follower="accepted")
    await add_remote(node, "strangers.example", "sam", follower="accepted")
    async with logged_in(node) as admin:
        await save_profile(admin, display_name="Before")
        assert await delivery_domains(node) == ["friends.example", "strangers.example"]
        await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/allowlist/add",
            allow_domain="friends.example",
        )
        await post_form(
            admin, "/admin/federation/blocks", "/admin/federation/allowlist/mode", mode="on"
        )
        assert await delivery_domains(node) == ["friends.example"]  # the queued one is dropped
        followers = await admin.get("/admin/federation/followers")
        assert followers.text.count("not on the allow list") == 1
        await save_profile(admin, display_name="After")
        assert await delivery_domains(node) == ["friends.example", "friends.example"]
        await post_form(
            admin, "/admin/federation/blocks", "/admin/federation/allowlist/mode", mode="off"
        )
        await save_profile(admin, display_name="Open again")
    assert await delivery_domains(node) == [
        "friends.example",
        "friends.example",
        "friends.example",
        "strangers.example",
    ]


async def save_profile(client: httpx.AsyncClient, **fields: str) -> None:
    response = await post_form(client, "/admin/profile", **{"display_name": "Net", **fields})
    assert response.status_code == 303, response.text


async def delivery_domains(node: Node) -> list[str]:
    async with node.ctx.sessions() as session:
        rows = await session.scalars(select(Delivery.domain).order_by(Delivery.domain))
        return list(rows.all())


async def test_allow_list_mode_refuses_unlisted_inboxes_before_fetching_a_key(
    node: Node,
) -> None:
    async with fake_server() as server, logged_in(node) as admin:
        mallory = server.add_account("mallory")
        await post_form(
            admin, "/admin/federation/blocks", "/admin/federation/allowlist/mode", mode="on"
        )
        refused = await deliver(node, mallory, mallory.follow(node.actor_id))
        assert refused.status_code == 403
        assert await count(node, RemoteKey) == 0 and await count(node, RemoteActor) == 0
        with pytest.raises(ForbiddenError):
            await node.ctx.directory.actor_by_handle(f"@mallory@{server.authority}")
        await post_form(
            admin,
            "/admin/federation/blocks",
            "/admin/federation/allowlist/add",
            allow_domain=server.authority,
        )
        accepted = await deliver(node, mallory, mallory.follow(node.actor_id))
        assert accepted.status_code == 202
    assert await count(node, Follower) == 1


@pytest.mark.parametrize(
    ("entries", "domain", "allowed"),
    [
        ((), "own.example:8000", True),  # this node's own host
        (("a.example",), "a.example", True),
        (("a.example",), "a.example:8443", True),  # any port unless one is named
        (("a.example:1",), "a.example:2", False),
        (("a.example",), "sub.a.example", False),  # not its subdomains
        (("a.example",), "A.Example.", True),
        (("a.example",), "b.example", False),
    ],
)
def test_allow_policy_matches_exact_hosts(
    entries: tuple[str, ...], domain: str, allowed: bool
) -> None:
    policy = AllowPolicy(True, frozenset(entries))
    assert policy.permits(domain, own_host="own.example:8000") is allowed
    assert AllowPolicy(False, frozenset()).permits(domain)


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
