"""WebFinger, host-meta and NodeInfo, as Mastodon, Misskey and others ask for them."""

from __future__ import annotations

import pytest

from tests.support.nodes import Node

AS2 = "application/activity+json"


async def test_webfinger_acct_resolves_to_the_actor_id(node: Node) -> None:
    response = await node.client.get(
        "/.well-known/webfinger",
        params={"resource": "acct:network@127.0.0.1:8000"},
        headers={"Accept": "application/jrd+json, application/json"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["subject"] == "acct:network@127.0.0.1:8000"
    self_link = next(link for link in body["links"] if link["rel"] == "self")
    assert self_link["type"] == AS2
    actor = (await node.client.get(self_link["href"], headers={"Accept": AS2})).json()
    assert self_link["href"] == actor["id"]  # the round trip Mastodon checks
    assert node.actor_id in body["aliases"]
    assert any(link["rel"] == "http://webfinger.net/rel/profile-page" for link in body["links"])


async def test_webfinger_by_actor_url_gives_the_same_subject(node: Node) -> None:
    response = await node.client.get("/.well-known/webfinger", params={"resource": node.actor_id})
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:network@127.0.0.1:8000"


@pytest.mark.parametrize(
    "resource",
    ["acct:nobody@127.0.0.1:8000", "acct:network@elsewhere.example", "http://127.0.0.1:8000/x"],
)
async def test_webfinger_unknown_resource_is_404_json(node: Node, resource: str) -> None:
    response = await node.client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 404
    assert response.json()["error"]
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("query", ["", "?resource=", "?resource=network", "?resource=acct:nohost"])
async def test_webfinger_malformed_request_is_400(node: Node, query: str) -> None:
    response = await node.client.get(f"/.well-known/webfinger{query}")
    assert response.status_code == 400
    assert "resource" in response.json()["error"]


async def test_host_meta_points_at_webfinger(node: Node) -> None:
    response = await node.client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    assert 'template="http://127.0.0.1:8000/.well-known/webfinger?resource={uri}"' in response.text
    assert response.headers["access-control-allow-origin"] == "*"


async def test_nodeinfo_discovery_lists_2_1_and_2_0(node: Node) -> None:
    links = (await node.client.get("/.well-known/nodeinfo")).json()["links"]
    rels = {link["rel"]: link["href"] for link in links}
    assert rels["http://nodeinfo.diaspora.software/ns/schema/2.1"].endswith("/nodeinfo/2.1")
    assert rels["http://nodeinfo.diaspora.software/ns/schema/2.0"].endswith("/nodeinfo/2.0")


@pytest.mark.parametrize("version", ["2.1", "2.0"])
async def test_nodeinfo_document_describes_the_software(node: Node, version: str) -> None:
    response = await node.client.get(f"/nodeinfo/{version}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert f"schema/{version}#" in response.headers["content-type"]
    body = response.json()
    assert body["version"] == version
    assert body["software"]["name"] == "tocsin"
    assert body["protocols"] == ["activitypub"]
    assert body["openRegistrations"] is False
    assert body["usage"]["users"]["total"] == 1
    assert body["usage"]["localPosts"] == 0


async def test_unknown_nodeinfo_version_is_404(node: Node) -> None:
    assert (await node.client.get("/nodeinfo/9.9")).status_code == 404
