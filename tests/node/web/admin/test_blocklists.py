"""The shared-block-list forms of the admin blocks page
(node/web/admin/blocklists.py): publishing, Mastodon CSV in and out, and
subscriptions refused with a message beside the field."""

from __future__ import annotations

from pathlib import Path

from node.models import DomainBlock
from tests.support.admin import csrf_of
from tests.support.admin_federation import audit_actions, count, logged_in
from tests.support.fediverse import fake_server
from tests.support.nodes import Node

PAGE = "/admin/federation/blocks"
AS2 = "application/activity+json"
FIXTURE = Path(__file__).parents[3] / "fixtures" / "blocklists" / "mastodon_domain_blocks.csv"


async def test_publish_switch_links_the_list_from_the_actor_and_is_audited(node: Node) -> None:
    async with logged_in(node) as admin:
        page = await admin.get(PAGE)
        assert "Not published." in page.text
        token = csrf_of(page.text)
        bad = await admin.post(f"{PAGE}/publish", data={"csrf_token": token, "publish": "yes"})
        assert bad.status_code == 400 and "Choose on or off." in bad.text
        on = await admin.post(f"{PAGE}/publish", data={"csrf_token": token, "publish": "on"})
        assert on.status_code == 303
        assert "is published" in (await admin.get(on.headers["location"])).text
    listing = await node.client.get(f"{node.actor_id}/blocklist", headers={"Accept": AS2})
    assert listing.status_code == 200 and listing.json()["type"] == "OrderedCollection"
    assert ("blocklist.publish.on", "") in await audit_actions(node)


async def test_csv_upload_blocks_its_servers_and_export_gives_them_back(node: Node) -> None:
    async with logged_in(node) as admin:
        token = csrf_of((await admin.get(PAGE)).text)
        files = {"csv": ("mastodon.csv", FIXTURE.read_bytes(), "text/csv")}
        done = await admin.post(f"{PAGE}/import", data={"csrf_token": token}, files=files)
        assert done.status_code == 303
        page = (await admin.get(done.headers["location"])).text
        assert "The CSV file was imported." in page and "from csv:mastodon.csv" in page
        assert await count(node, DomainBlock) == 3

        junk = {"csv": ("junk.csv", b"\xff\xfe\x00", "text/csv")}
        refused = await admin.post(f"{PAGE}/import", data={"csrf_token": token}, files=junk)
        assert refused.status_code == 400 and "not UTF-8 text" in refused.text
        empty = await admin.post(f"{PAGE}/import", data={"csrf_token": token, "csv": ""})
        assert empty.status_code == 400 and "Choose a CSV file." in empty.text

        exported = await admin.get(f"{PAGE}/export.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.text.splitlines()[0].startswith("#domain,#severity")
        assert '"Harassment, doxxing of organisers"' in exported.text


async def test_subscribing_to_an_account_without_a_list_is_refused_beside_the_field(
    node: Node,
) -> None:
    async with fake_server() as server, logged_in(node) as admin:
        server.add_account("mallory")
        token = csrf_of((await admin.get(PAGE)).text)
        handle = f"@mallory@{server.authority}"
        answer = await admin.post(f"{PAGE}/subscribe", data={"csrf_token": token, "source": handle})
        assert answer.status_code == 400
        assert "does not publish a block list" in answer.text
        gone = await admin.post(
            f"{PAGE}/unsubscribe", data={"csrf_token": token, "actor_uri": "https://x.example/a"}
        )
        assert gone.status_code == 404
