"""The admin pages for blocked servers and allow-list-only mode
(node/web/admin/blocks.py), and the allow policy they set (node/allowlist.py).

The remote side is a fediverse stand-in served over real loopback HTTP.
Helpers: ``tests.support.admin_federation``.
"""

from __future__ import annotations

import pytest

from federation.errors import ForbiddenError
from node.allowlist import AllowPolicy
from node.models import (
    Delivery,
    DomainBlock,
    Follower,
    Following,
    RemoteActor,
    RemoteKey,
)
from tests.support.admin import post_form
from tests.support.admin_federation import (
    add_remote,
    audit_actions,
    count,
    deliver,
    delivery_domains,
    logged_in,
    save_profile,
)
from tests.support.fediverse import fake_server
from tests.support.nodes import Node

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
        ("domain.block", f"{server.authority}: harassment"),  # the audit log gives the reason
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
