"""Node-wide switches kept in the database (set from the admin UI)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.models import NodeSetting

DEFAULTS: dict[str, Any] = {
    "allowlist_mode": False,
    "require_totp_for_admins": False,
    # privacy of the network's actor (admin federation page)
    "hide_network": False,  # followers/following answer with their size only
    "discoverable": True,
    "indexable": True,
    # the public /federation page (the networks this node follows)
    "federation_page": True,
    # new follows relay the followed network's urgent callouts (node.relay)
    "relay_urgent_default": False,
}


async def get_setting(session: AsyncSession, key: str, default: Any = None) -> Any:
    row = await session.get(NodeSetting, key)
    if row is not None:
        return row.value
    return DEFAULTS.get(key, default)


async def set_setting(session: AsyncSession, key: str, value: Any) -> None:
    row = await session.get(NodeSetting, key)
    if row is None:
        session.add(NodeSetting(key=key, value=value))
    else:
        row.value = value
