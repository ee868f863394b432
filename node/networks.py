"""Networks as people see them: name, summary, region, handle and links of a
remote actor, for the public ``/federation`` page and the discovery of
``node.discovery``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import as_list
from node.handles import handle_of, label_of
from node.identity import group_actor
from node.models import Following, RemoteActor
from node.sanitize import html_to_text

MAX_SUMMARY = 500
MAX_REGION = 200


@dataclass(frozen=True)
class Network:
    uri: str
    name: str
    summary: str
    region: str
    handle: str
    url: str  # its public page (the actor's ``url``), else its id


def region_of(raw: dict[str, Any]) -> str:
    """The "Region" a Tocsin node lists among its actor's ``attachment``s."""
    for entry in as_list(raw.get("attachment")):
        if isinstance(entry, dict) and entry.get("type") == "PropertyValue":
            name, value = entry.get("name"), entry.get("value")
            if isinstance(name, str) and name.lower() == "region" and isinstance(value, str):
                return html_to_text(value)[:MAX_REGION]
    return ""


def network_of(remote: RemoteActor) -> Network:
    return Network(
        uri=remote.uri,
        name=label_of(remote),
        summary=html_to_text(remote.summary or "")[:MAX_SUMMARY],
        region=region_of(remote.raw or {}),
        handle=handle_of(remote),
        url=remote.url or remote.uri,
    )


async def followed_networks(session: AsyncSession) -> list[Network]:
    """The actors this node follows (accepted), by name."""
    local = await group_actor(session)
    rows = await session.scalars(
        select(RemoteActor)
        .join(Following, Following.remote_actor_id == RemoteActor.id)
        .where(Following.local_actor_id == local.id, Following.state == "accepted")
    )
    return sorted((network_of(row) for row in rows), key=lambda n: n.name.lower())
