"""The admin pages for the node's profile, its users and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from federation.as2 import AS_PUBLIC
from node.identity import group_actor
from node.models import AuditEntry, Delivery, Follower, LocalActor, OutboundActivity, User
from node.settings_store import get_setting
from node.users import create_user
from node.web.admin.people import AUDIT_PAGE, _change_guard
from tests.support.admin import csrf_of, login, post_form
from tests.support.admin_federation import (
    PASSWORD,
    add_remote,
    audit_actions,
    count,
    logged_in,
    save_profile,
    sent,
)
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

AS2 = "application/activity+json"
PEOPLE_PAGES = ["/admin/profile", "/admin/users", "/admin/audit"]
PEOPLE_POSTS = [
    "/admin/profile",
    "/admin/users/add",
    "/admin/users/1/role",
    "/admin/users/1/remove",
]


@asynccontextmanager
async def logged_in_as(
    node: Node, username: str, password: str
) -> AsyncIterator[httpx.AsyncClient]:
    transport = node.client._transport
    async with httpx.AsyncClient(transport=transport, base_url=node.base_url) as client:
        assert (await login(client, username, password)).status_code == 303
        yield client


async def group(node: Node) -> LocalActor:
    async with node.ctx.sessions() as session:
        return await group_actor(session)


async def user_named(node: Node, username: str) -> User | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(User).where(User.username == username))


# -- who may use these pages --------------------------------------------------------------


async def test_editors_get_403_on_profile_users_and_audit(node: Node) -> None:
    async with logged_in(node, "rosa", "editor") as editor:
        token = csrf_of((await editor.get("/admin")).text)
        for page in PEOPLE_PAGES:
            response = await editor.get(page)
            assert response.status_code == 403, page
            assert "Only admins" in response.text
        for action in PEOPLE_POSTS:
            fields = {"csrf_token": token, "display_name": "Hijacked", "role": "admin"}
            assert (await editor.post(action, data=fields)).status_code == 403, action
    assert (await group(node)).display_name == "network"
    rosa = await user_named(node, "rosa")
    assert rosa is not None and rosa.role == "editor"


async def test_posts_without_a_csrf_token_are_refused(node: Node) -> None:
    async with logged_in(node) as admin:
        for action in PEOPLE_POSTS:
            fields = {"display_name": "Forged", "username": "mole", "role": "admin"}
            assert (await admin.post(action, data=fields)).status_code == 403, action
    assert (await group(node)).display_name == "network"
    assert await user_named(node, "mole") is None


# -- profile ------------------------------------------------------------------------------


async def test_saving_the_profile_updates_the_actor_and_tells_accepted_followers(
    node: Node,
) -> None:
    friend = await add_remote(node, "friends.example", "ally", follower="accepted")
    await add_remote(node, "waiting.example", "wendy", follower="pending")
    before = await group(node)
    async with logged_in(node) as admin:
        await save_profile(
            admin,
            display_name="Haringey Solidarity",
            summary="Tenants <b>&</b> neighbours.\r\nEvery Tuesday.",
            region="Haringey, London",
        )
        page = await admin.get("/admin/profile?done=saved")
        assert "Profile saved" in page.text
        assert "Tenants &lt;b&gt;&amp;&lt;/b&gt; neighbours." in page.text  # shown as text
        assert 'value="Haringey, London"' in page.text
    after = await group(node)
    assert after.display_name == "Haringey Solidarity" and after.region == "Haringey, London"
    assert after.summary == "Tenants <b>&</b> neighbours.\nEvery Tuesday."
    assert after.updated_at > before.updated_at

    actor = (await node.client.get(node.actor_id, headers={"Accept": AS2})).json()
    assert actor["name"] == "Haringey Solidarity"
    [update] = await sent(node, "Update")
    assert update["actor"] == node.actor_id and update["to"] == [AS_PUBLIC]
    assert update["object"]["type"] == "Group" and update["object"]["name"] == actor["name"]
    assert update["object"]["publicKey"] == actor["publicKey"]
    assert "@context" in update and "@context" not in update["object"]
    async with node.ctx.sessions() as session:
        inboxes = (await session.scalars(select(Delivery.inbox_url))).all()
        outbound = await session.scalar(select(OutboundActivity))
    assert inboxes == [friend.inbox]  # accepted followers only
    assert outbound is not None and outbound.public and outbound.object_uri == node.actor_id
    assert await audit_actions(node) == [("profile.update", "display_name, region, summary")]


async def test_invalid_profile_is_shown_again_and_nothing_is_saved(node: Node) -> None:
    cases = [
        ({"display_name": ""}, "display_name", "Give the network a name"),
        ({"display_name": "x" * 101}, "display_name", "under 100 characters"),
        ({"summary": "y" * 2001}, "summary", "under 2000 characters"),
        ({"region": "bad\x00region"}, "region", "control characters"),
    ]
    async with logged_in(node) as admin:
        for fields, field, message in cases:
            form = {"display_name": "Fine name", "summary": "kept <i>as typed</i>", **fields}
            response = await post_form(admin, "/admin/profile", **form)
            assert response.status_code == 400, field
            error = response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
            assert message in error
            if "summary" not in fields:  # what was typed is shown again, as text
                assert "kept &lt;i&gt;as typed&lt;/i&gt;" in response.text
            assert "Nothing was saved" in response.text
    actor = await group(node)
    assert actor.display_name == "network" and actor.summary == ""
    assert await count(node, OutboundActivity) == 0 and await audit_actions(node) == []


async def test_turning_approval_off_accepts_waiting_requests(node: Node) -> None:
    waiting = await add_remote(node, "waiting.example", "wendy", follower="pending")
    async with logged_in(node) as admin:
        await save_profile(admin, display_name="network", approval="on")
        assert (await group(node)).manually_approves_followers is True
        actor = (await node.client.get(node.actor_id, headers={"Accept": AS2})).json()
        assert actor["manuallyApprovesFollowers"] is True
        await save_profile(admin, display_name="network")
    assert (await group(node)).manually_approves_followers is False
    assert await count(node, Follower, Follower.state == "accepted") == 1
    [accept] = await sent(node, "Accept")
    assert accept["object"]["actor"] == waiting.uri
    updates = await sent(node, "Update")
    assert [u["object"]["manuallyApprovesFollowers"] for u in updates] == [True, False]
    async with node.ctx.sessions() as session:
        update_deliveries = await session.scalar(
            select(Delivery.inbox_url)
            .join(OutboundActivity)
            .where(OutboundActivity.type == "Update")
        )
    assert update_deliveries == waiting.inbox  # the newly accepted follower hears of it


async def test_requiring_two_factor_sends_admins_to_set_it_up(node: Node) -> None:
    async with logged_in(node) as admin:
        await save_profile(admin, display_name="network", require_totp="on")
        async with node.ctx.sessions() as session:
            assert await get_setting(session, "require_totp_for_admins") is True
        response = await admin.get("/admin/profile")
        assert response.status_code == 303 and response.headers["location"] == "/admin/totp"
    assert await count(node, OutboundActivity) == 0  # the actor did not change
    assert await audit_actions(node) == [("settings.require_totp", "on")]


# -- users --------------------------------------------------------------------------------


async def test_adding_a_user_shows_a_one_time_password_once(node: Node) -> None:
    async with logged_in(node) as admin:
        page = await post_form(
            admin, "/admin/users", "/admin/users/add", username="Rosa", role="editor"
        )
        assert page.status_code == 200
        password = page.text.split('<code class="secret">')[1].split("</code>")[0]
        assert "shown only this once" in page.text
        assert password not in (await admin.get("/admin/users")).text
    rosa = await user_named(node, "rosa")
    assert rosa is not None and rosa.role == "editor" and rosa.must_change_password
    assert password not in rosa.password_hash
    async with logged_in_as(node, "rosa", password) as client:
        assert (await client.get("/admin")).headers["location"] == "/admin/password"
    assert await audit_actions(node) == [("user.add", "rosa (editor)")]


async def test_invalid_new_users_are_refused_beside_the_field(node: Node) -> None:
    async with logged_in(node) as admin:
        for fields, field, message in [
            ({"username": "", "role": "editor"}, "username", "A username is"),
            ({"username": "bad name", "role": "editor"}, "username", "A username is"),
            ({"username": "ada", "role": "editor"}, "username", "already exists"),
            ({"username": "newbie", "role": "owner"}, "role", "Choose a role"),
        ]:
            response = await post_form(admin, "/admin/users", "/admin/users/add", **fields)
            assert response.status_code == 400, fields
            assert message in response.text.split(f'id="{field}-error">')[1].split("</p>")[0]
    async with node.ctx.sessions() as session:
        names = (await session.scalars(select(User.username).order_by(User.username))).all()
    assert names == ["ada", "admin"]
    assert await audit_actions(node) == []


async def test_roles_change_and_users_go_but_never_yourself(node: Node) -> None:
    async with logged_in(node) as admin:
        ada = await user_named(node, "ada")
        first = await user_named(node, "admin")
        assert ada is not None and first is not None
        for action, fields in [(f"/admin/users/{ada.id}/role", {"role": "editor"}),
                               (f"/admin/users/{ada.id}/remove", {})]:  # fmt: skip
            response = await post_form(admin, "/admin/users", action, **fields)
            assert response.status_code == 400
            assert "You cannot" in response.text.split(f'id="user-{ada.id}-error"')[1]
        demoted = await post_form(
            admin, "/admin/users", f"/admin/users/{first.id}/role", role="editor"
        )
        assert demoted.status_code == 303
        assert "Role changed" in (await admin.get(demoted.headers["location"])).text
        bad_role = await post_form(admin, "/admin/users", f"/admin/users/{first.id}/role", role="x")
        assert bad_role.status_code == 400 and "Choose a role" in bad_role.text
        removed = await post_form(admin, "/admin/users", f"/admin/users/{first.id}/remove")
        assert removed.status_code == 303
        for action in ("/admin/users/999/role", "/admin/users/999/remove"):
            missing = await post_form(admin, "/admin/users", action, role="editor")
            assert missing.status_code == 404 and "Not found" in missing.text
    assert await user_named(node, "admin") is None
    assert await audit_actions(node) == [
        ("user.role", "admin: admin → editor"),
        ("user.remove", "admin"),
    ]


async def test_the_last_admin_is_never_demoted_or_removed(node: Node) -> None:
    """Two admins acting on each other at once: the second finds itself demoted."""
    async with node.ctx.sessions() as session, session.begin():
        await create_user(session, "ada", "admin", PASSWORD, must_change=False, hasher=CHEAP_HASHER)
        ada = await session.scalar(select(User).where(User.username == "ada"))
        first = await session.scalar(select(User).where(User.username == "admin"))
        assert ada is not None and first is not None
        stale_ada = User(id=ada.id, username="ada", role="admin")
        ada.role = "editor"  # another admin demoted ada meanwhile
        await session.flush()
        problem = await _change_guard(session, stale_ada, first, "remove")
        assert problem is not None and "last admin" in problem
        editor = User(id=999, username="ghost", role="editor")
        assert await _change_guard(session, stale_ada, editor, "remove") == (
            "You are no longer an admin."
        )


# -- audit log ----------------------------------------------------------------------------


async def test_audit_log_is_newest_first_and_paged(node: Node) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    async with node.ctx.sessions() as session, session.begin():
        for n in range(AUDIT_PAGE + 10):
            session.add(
                AuditEntry(
                    username="ada",
                    action="test.entry",
                    target=f"<entry {n:03d}>",
                    created_at=start + timedelta(minutes=n),
                )
            )
    async with logged_in(node) as admin:
        first = await admin.get("/admin/audit")
        assert first.status_code == 200
        rows = first.text.split('<ol class="audit">')[1]
        assert rows.index("logged in") < rows.index("entry 059") < rows.index("entry 058")
        assert "&lt;entry 011&gt;" in rows and "entry 010" not in rows  # 50 a page
        assert 'rel="next"' in first.text and "Page 1 of 2" in first.text
        second = await admin.get("/admin/audit?page=2")
        assert "&lt;entry 010&gt;" in second.text and "&lt;entry 000&gt;" in second.text
        assert "entry 011" not in second.text and 'rel="prev"' in second.text
        for bad in ("3", "0", "junk", "-1"):
            assert (await admin.get(f"/admin/audit?page={bad}")).status_code == 404


async def test_audit_log_records_changes_from_every_page(node: Node) -> None:
    async with logged_in(node) as admin:
        await save_profile(admin, display_name="Audited")
        await post_form(admin, "/admin/users", "/admin/users/add", username="eve", role="editor")
        page = await admin.get("/admin/audit")
    body = page.text
    assert "changed the network&#39;s name" in body and "added the user eve (editor)" in body
    rows = body.split('<ol class="audit">')[1]
    added, changed = rows.index("added the user"), rows.index("changed the network")
    assert added < changed < rows.index("logged in")
    assert PASSWORD not in body
    entries = await audit_actions(node)
    assert entries == [("profile.update", "display_name"), ("user.add", "eve (editor)")]
