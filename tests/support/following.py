"""Real nodes following each other (and a fediverse account), as the e2e tests
set them up: the follow goes through the real code and the real worker, and the
helpers wait until the other side has answered."""

from __future__ import annotations

from sqlalchemy import select

from node import follows
from node.identity import group_actor
from node.models import Following
from tests.support.fediverse import Account
from tests.support.nodes import Node, eventually

AS2 = "application/activity+json"


def handle(node: Node) -> str:
    return f"@{node.settings.node_name}@{node.settings.host}"


async def start_following(follower: Node, target: Node) -> None:
    """Queue ``follower``'s Follow of ``target`` and wake its worker."""
    remote = await follows.resolve_target(follower.ctx, handle(target))
    async with follower.ctx.sessions() as session, session.begin():
        await follows.follow(follower.ctx, session, remote)
    follower.ctx.wake()


async def follow_and_wait(follower: Node, target: Node) -> None:
    """``follower`` follows ``target``, and ``target`` has accepted."""
    await start_following(follower, target)

    async def accepted() -> bool:
        page = await follower.client.get(
            f"{follower.actor_id}/following?page=1", headers={"Accept": AS2}
        )
        return target.actor_id in page.json()["orderedItems"]

    await eventually(accepted)


async def be_followed_by(node: Node, account: Account) -> None:
    """``node`` follows a fake account, which accepts as Mastodon would."""
    remote = await follows.resolve_target(node.ctx, account.id)
    async with node.ctx.sessions() as session, session.begin():
        await follows.follow(node.ctx, session, remote)
    node.ctx.wake()
    received = await account.server.wait_for(lambda r: r.activity["type"] == "Follow")
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": account.new_id(),
        "type": "Accept",
        "actor": account.id,
        "object": received.activity,
    }
    assert (await account.post(f"{node.actor_id}/inbox", accept)).status_code == 202

    async def accepted() -> bool:
        async with node.ctx.sessions() as session:
            return await session.scalar(select(Following.state)) == "accepted"

    await eventually(accepted)


async def describe(node: Node, name: str, region: str, summary: str) -> None:
    """Set the name, region and summary a node shows the networks that follow it."""
    async with node.ctx.sessions() as session, session.begin():
        actor = await group_actor(session)
        actor.display_name, actor.region, actor.summary = name, region, summary
