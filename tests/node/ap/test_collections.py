"""outbox, followers and following: OrderedCollections with real paging."""

from __future__ import annotations

import json

import pytest

from node.identity import group_actor
from node.models import Follower, Following, OutboundActivity, RemoteActor
from tests.support.nodes import Node

AS2 = "application/activity+json"


async def _add_remote_actors(node: Node, count: int) -> list[RemoteActor]:
    async with node.ctx.sessions() as session:
        actors = [
            RemoteActor(
                uri=f"https://remote{i}.example/users/u{i}",
                domain=f"remote{i}.example",
                type="Person",
                preferred_username=f"u{i}",
                name="",
                summary="",
                inbox=f"https://remote{i}.example/users/u{i}/inbox",
                raw={},
            )
            for i in range(count)
        ]
        session.add_all(actors)
        await session.commit()
        return actors


@pytest.mark.parametrize("kind", ["outbox", "followers", "following"])
async def test_empty_collection_is_an_ordered_collection(node: Node, kind: str) -> None:
    response = await node.client.get(f"/actors/network/{kind}", headers={"Accept": AS2})
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    body = response.json()
    assert body["id"] == f"{node.actor_id}/{kind}"
    assert body["type"] == "OrderedCollection"
    assert body["totalItems"] == 0
    page = (await node.client.get(body["first"], headers={"Accept": AS2})).json()
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == body["id"]
    assert page["orderedItems"] == []
    assert "next" not in page


async def test_followers_are_paged_newest_first_and_pending_ones_hidden(node: Node) -> None:
    remotes = await _add_remote_actors(node, 46)
    async with node.ctx.sessions() as session:
        local = await group_actor(session)
        for i, remote in enumerate(remotes):
            session.add(
                Follower(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=f"{remote.uri}#follow",
                    follow_activity={},
                    state="pending" if i == 45 else "accepted",
                )
            )
        await session.commit()
    collection = (
        await node.client.get("/actors/network/followers", headers={"Accept": AS2})
    ).json()
    assert collection["totalItems"] == 45
    assert collection["last"].endswith("?page=2")
    first = (await node.client.get(collection["first"], headers={"Accept": AS2})).json()
    assert len(first["orderedItems"]) == 40
    assert first["orderedItems"][0] == remotes[44].uri
    second = (await node.client.get(first["next"], headers={"Accept": AS2})).json()
    assert second["orderedItems"] == [remotes[i].uri for i in range(4, -1, -1)]
    assert second["prev"].endswith("?page=1")
    assert "next" not in second
    assert remotes[45].uri not in first["orderedItems"] + second["orderedItems"]


async def test_following_lists_only_accepted_follows(node: Node) -> None:
    remotes = await _add_remote_actors(node, 2)
    async with node.ctx.sessions() as session:
        local = await group_actor(session)
        for remote, state in zip(remotes, ["accepted", "pending"], strict=True):
            session.add(
                Following(
                    local_actor_id=local.id,
                    remote_actor_id=remote.id,
                    follow_uri=f"{node.base_url}/follows/{remote.id}",
                    state=state,
                )
            )
        await session.commit()
    page = (
        await node.client.get("/actors/network/following?page=1", headers={"Accept": AS2})
    ).json()
    assert page["orderedItems"] == [remotes[0].uri]


async def test_outbox_lists_public_activities_newest_first(node: Node) -> None:
    async with node.ctx.sessions() as session:
        local = await group_actor(session)
        for i in range(3):
            uri = f"{node.base_url}/activities/{i}"
            session.add(
                OutboundActivity(
                    uri=uri,
                    local_actor_id=local.id,
                    type="Create",
                    public=i != 1,
                    body=json.dumps(
                        {"@context": "https://www.w3.org/ns/activitystreams", "id": uri}
                    ),
                )
            )
        await session.commit()
    outbox = (await node.client.get("/actors/network/outbox", headers={"Accept": AS2})).json()
    assert outbox["totalItems"] == 2
    page = (await node.client.get(outbox["first"], headers={"Accept": AS2})).json()
    assert [item["id"] for item in page["orderedItems"]] == [
        f"{node.base_url}/activities/2",
        f"{node.base_url}/activities/0",
    ]
    assert "@context" not in page["orderedItems"][0]


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5"])
async def test_bad_page_number_is_400(node: Node, page: str) -> None:
    response = await node.client.get(f"/actors/network/followers?page={page}")
    assert response.status_code == 400
    assert "page" in response.json()["error"]
