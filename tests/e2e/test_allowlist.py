"""Allow-list-only mode between real nodes: with the mode on, only listed servers
federate with the node. Unlisted ones get 403 at the inbox before any key is
fetched from them, nothing is fetched from them and nothing is delivered to
them; listed ones carry on as before, both ways."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from federation.errors import ForbiddenError
from node import follows
from node.models import Delivery, Follower, Following, OutboundActivity, RemoteActor, RemoteKey
from tests.e2e.conftest import NodeFactory, eventually
from tests.support.admin import csrf_of, post_form
from tests.support.admin_federation import logged_in, save_profile
from tests.support.fediverse import FakeServer
from tests.support.following import handle, start_following
from tests.support.nodes import Node

BLOCKS = "/admin/federation/blocks"


async def following_state(node: Node) -> str | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Following.state))


async def followers_of(node: Node) -> set[str]:
    async with node.ctx.sessions() as session:
        rows = await session.scalars(
            select(RemoteActor.uri).join(Follower, Follower.remote_actor_id == RemoteActor.id)
        )
        return set(rows.all())


async def test_only_listed_servers_federate_in_allow_list_mode(
    start_node: NodeFactory, fediverse: FakeServer
) -> None:
    a, b, c = await start_node("haringey"), await start_node("hackney"), await start_node("camden")
    await start_following(c, a)  # c follows a before the mode is turned on

    async def c_accepted() -> bool:
        return await following_state(c) == "accepted"

    await eventually(c_accepted)

    async with logged_in(a) as admin:
        allowed = await post_form(
            admin, BLOCKS, "/admin/federation/allowlist/add", allow_domain=b.settings.host
        )
        assert allowed.status_code == 303
        assert (
            await post_form(admin, BLOCKS, "/admin/federation/allowlist/mode", mode="on")
        ).status_code == 303

        # A listed node federates both ways: b follows a, a follows b through the form.
        await start_following(b, a)
        page = await post_form(
            admin, "/admin/federation", "/admin/federation/follow", handle=handle(b)
        )
        remote_id = page.text.split('name="remote_id" value="')[1].split('"')[0]
        await admin.post(
            "/admin/federation/follow/confirm",
            data={"csrf_token": csrf_of(page.text), "remote_id": remote_id},
        )

        async def b_both_ways() -> bool:
            return b.actor_id in await followers_of(a) and await following_state(a) == "accepted"

        await eventually(b_both_ways)

        # An unlisted node is refused at the inbox: c's Undo never gets in.
        remote = await follows.resolve_target(c.ctx, a.actor_id)
        async with c.ctx.sessions() as session, session.begin():
            await follows.unfollow(c.ctx, session, remote)
        c.ctx.wake()

        async def undo_refused() -> bool:
            async with c.ctx.sessions() as session:
                status = await session.scalar(
                    select(Delivery.last_status)
                    .join(OutboundActivity)
                    .where(OutboundActivity.type == "Undo")
                )
                return status == 403

        await eventually(undo_refused)
        assert c.actor_id in await followers_of(a)

        # A server a never heard of gets 403 before a fetches its key.
        stranger = fediverse.add_account("stranger")
        refused = await stranger.post(f"{a.actor_id}/inbox", stranger.follow(a.actor_id))
        assert refused.status_code == 403 and refused.json()["error"] == "blocked"
        async with a.ctx.sessions() as session:
            assert (
                await session.scalar(
                    select(func.count())
                    .select_from(RemoteKey)
                    .where(RemoteKey.owner_uri == stranger.id)
                )
                == 0
            )

        # Nothing is fetched from an unlisted node, nor followed.
        with pytest.raises(ForbiddenError):
            await a.ctx.directory.fetch(c.actor_id)
        lookup = await post_form(
            admin, "/admin/federation", "/admin/federation/follow", handle=handle(c)
        )
        assert lookup.status_code == 400 and "not on the allow list" in lookup.text

        # Updates go to listed followers only; b hears of the new name.
        await save_profile(admin, display_name="Haringey Allowed")
        async with a.ctx.sessions() as session:
            domains = await session.scalars(
                select(Delivery.domain)
                .join(OutboundActivity)
                .where(OutboundActivity.type == "Update")
            )
            assert list(domains.all()) == [b.settings.host]

        async def b_saw_update() -> bool:
            async with b.ctx.sessions() as session:
                name = await session.scalar(
                    select(RemoteActor.name).where(RemoteActor.uri == a.actor_id)
                )
                return name == "Haringey Allowed"

        await eventually(b_saw_update)

        # With the mode off, c gets in again.
        assert (
            await post_form(admin, BLOCKS, "/admin/federation/allowlist/mode", mode="off")
        ).status_code == 303
        await start_following(c, a)
        await eventually(c_accepted)
        accepted = await stranger.post(f"{a.actor_id}/inbox", stranger.follow(a.actor_id))
        assert accepted.status_code == 202
