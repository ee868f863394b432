"""The node's actors and keys are made once and survive restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.bootstrap import prepare
from tests.support.nodes import asgi_node, make_settings

AS2 = "application/activity+json"
BASE = "http://127.0.0.1:8000"


async def test_keys_and_accounts_survive_a_restart(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, base_url=BASE)
    async with asgi_node(settings) as first:
        assert first.admin_password  # a brand-new node makes its first admin
        before = (await first.client.get("/actors/network", headers={"Accept": AS2})).json()
        instance_before = (await first.client.get("/actor", headers={"Accept": AS2})).json()
    async with asgi_node(settings) as second:
        assert second.admin_password is None  # never a second one-time password
        after = (await second.client.get("/actors/network", headers={"Accept": AS2})).json()
        instance_after = (await second.client.get("/actor", headers={"Accept": AS2})).json()
    assert after["publicKey"] == before["publicKey"]
    assert instance_after["publicKey"] == instance_before["publicKey"]
    assert after["published"] == before["published"]


async def test_renaming_the_node_is_refused(tmp_path: Path, database_url: str) -> None:
    await prepare(make_settings(tmp_path, database_url, base_url=BASE), first_admin=False)
    renamed = make_settings(tmp_path, database_url, base_url=BASE, name="other")
    with pytest.raises(RuntimeError, match="orphan its followers"):
        await prepare(renamed, first_admin=False)
