"""The node's VAPID key pair (RFC 8292): made once, kept in the database.

Push services tie a subscription to the public key the page subscribed with;
a new key would silently orphan every subscriber, so the pair is never
replaced. It sits in ``node_settings`` beside the node's other settings, so
every process of one node (web and workers) signs with the same key.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.db import dialect_insert
from node.models import NodeSetting

SETTING = "vapid_private_key"


async def ensure_vapid_key(session: AsyncSession) -> Vapid02:
    """The node's key, made and stored on first use (concurrent first uses agree:
    the first insert wins, everyone reads it back)."""
    pem = await session.scalar(select(NodeSetting.value).where(NodeSetting.key == SETTING))
    if not isinstance(pem, str):
        fresh = Vapid02()
        fresh.generate_keys()
        await session.execute(
            dialect_insert(session)(NodeSetting)
            .values(key=SETTING, value=fresh.private_pem().decode("ascii"))
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await session.commit()
        pem = await session.scalar(select(NodeSetting.value).where(NodeSetting.key == SETTING))
    assert isinstance(pem, str)
    return _parsed(pem)


@cache
def _parsed(pem: str) -> Vapid02:
    return Vapid02.from_pem(pem.encode("ascii"))


def application_server_key(key: Vapid02) -> str:
    """The public key as the page's ``pushManager.subscribe`` wants it: the
    uncompressed P-256 point, base64url without padding."""
    raw = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
