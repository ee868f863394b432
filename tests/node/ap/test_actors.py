"""The node's Group actor and the instance Application actor."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.nodes import Node

AS2 = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.mark.parametrize("accept", [AS2, LD, "application/activity+json, application/ld+json"])
async def test_actor_is_served_as_activity_json_at_its_id(node: Node, accept: str) -> None:
    response = await node.client.get("/actors/network", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    assert response.headers["vary"] == "Accept"
    actor = response.json()
    assert actor["id"] == str(response.url) == node.actor_id


async def test_actor_document_has_every_field_servers_need(node: Node) -> None:
    actor = (await node.client.get("/actors/network", headers={"Accept": AS2})).json()
    context = actor["@context"]
    assert context[:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert all(isinstance(item, dict) for item in context[2:])  # no other context URLs
    assert actor["type"] == "Group"
    assert actor["preferredUsername"] == "network"
    base = "http://127.0.0.1:8000/actors/network"
    assert actor["inbox"] == f"{base}/inbox"
    assert actor["outbox"] == f"{base}/outbox"
    assert actor["followers"] == f"{base}/followers"
    assert actor["following"] == f"{base}/following"
    assert actor["endpoints"]["sharedInbox"] == "http://127.0.0.1:8000/inbox"
    assert actor["manuallyApprovesFollowers"] is False
    assert actor["discoverable"] is True
    assert actor["url"] == "http://127.0.0.1:8000/"
    assert actor["published"].endswith("Z")
    for key in ("name", "summary"):
        assert key in actor
    key = actor["publicKey"]
    assert key["id"] == f"{base}#main-key"
    assert key["owner"] == base
    public = serialization.load_pem_public_key(key["publicKeyPem"].encode())
    assert public.key_size == 2048  # type: ignore[attr-defined]


async def test_browser_gets_the_html_profile_at_the_actor_url(node: Node) -> None:
    response = await node.client.get(
        "/actors/network", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    assert "@network@127.0.0.1:8000" in response.text
    assert 'rel="alternate" type="application/activity+json"' in response.text


async def test_instance_actor_is_readable_without_a_signature(node: Node) -> None:
    response = await node.client.get("/actor", headers={"Accept": AS2})
    assert response.status_code == 200
    assert response.headers["content-type"] == AS2
    actor = response.json()
    assert actor["id"] == "http://127.0.0.1:8000/actor"
    assert actor["type"] == "Application"
    assert actor["publicKey"]["id"] == "http://127.0.0.1:8000/actor#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    group = (await node.client.get("/actors/network", headers={"Accept": AS2})).json()
    assert actor["publicKey"]["publicKeyPem"] != group["publicKey"]["publicKeyPem"]


async def test_unknown_actor_is_404(node: Node) -> None:
    response = await node.client.get("/actors/someone-else", headers={"Accept": AS2})
    assert response.status_code == 404
    assert response.json()["error"]


async def test_unknown_path_is_404_json_or_html(node: Node) -> None:
    as_json = await node.client.get("/no/such/page", headers={"Accept": AS2})
    assert as_json.status_code == 404
    assert as_json.json() == {"error": "There is nothing at this address."}
    as_html = await node.client.get("/no/such/page", headers={"Accept": "text/html"})
    assert as_html.status_code == 404
    assert "<h1>Not found</h1>" in as_html.text


async def test_pages_carry_strict_security_headers(node: Node) -> None:
    response = await node.client.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
