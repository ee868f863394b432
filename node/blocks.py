"""Blocked servers: refused at the inbox, never fetched from, never delivered to.

A block covers the domain and its subdomains, as in Mastodon, on every port
(a block that names a port covers only that port). The list is
small and read on every inbox POST, so each process keeps it in memory and
reloads it every few seconds (other processes may change it).
"""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.hosts import normalize_domain, split_port
from node.allowlist import AllowList
from node.models import (
    Delivery,
    DomainBlock,
    Follower,
    Following,
    RemoteActor,
)

RELOAD_SECONDS = 5.0


def covers(block: str, domain: str) -> bool:
    """Whether a stored block covers ``domain`` (a normalised ``host[:port]``)."""
    block_host, block_port = split_port(block)
    host, port = split_port(domain)
    if block_port is not None and block_port != port:
        return False
    return host == block_host or host.endswith("." + block_host)


class BlockList:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, own_host: str | None = None
    ) -> None:
        self._sessions = sessions
        self._domains: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")
        # Allow-list-only mode is enforced wherever blocks are, so its cache lives here
        self.allowlist = AllowList(sessions)
        self.own_host = own_host  # always allowed in allow-list-only mode

    async def _load(self) -> frozenset[str]:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            async with self._sessions() as session:
                rows = await session.scalars(select(DomainBlock.domain))
                self._domains = frozenset(rows.all())
            self._loaded_at = time.monotonic()
        return self._domains

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")
        self.allowlist.invalidate()

    async def is_blocked(self, domain: str) -> bool:
        domain = normalize_domain(domain)
        return any(covers(block, domain) for block in await self._load())

    async def refuses(self, domain: str, *, own_host: str | None = None) -> bool:
        """Blocked, or not on the list while allow-list-only mode is on."""
        if await self.is_blocked(domain):
            return True
        return not await self.allowlist.permits(domain, own_host or self.own_host)


async def block_domain(session: AsyncSession, domain: str, reason: str = "") -> str:
    """Block ``domain``: drop its followers and follows and its pending deliveries."""
    domain = normalize_domain(domain)
    if not domain or ("." not in domain and ":" not in domain and domain != "localhost"):
        raise ValueError(f"{domain!r} does not look like a domain")
    if await session.get(DomainBlock, domain) is None:
        session.add(DomainBlock(domain=domain, reason=reason))
    actors = await session.execute(select(RemoteActor.id, RemoteActor.domain))
    actor_ids = [row.id for row in actors if covers(domain, row.domain)]
    await session.execute(delete(Follower).where(Follower.remote_actor_id.in_(actor_ids)))
    await session.execute(delete(Following).where(Following.remote_actor_id.in_(actor_ids)))
    pending = await session.scalars(
        select(Delivery.domain).where(Delivery.state == "pending").distinct()
    )
    domains = [d for d in pending.all() if covers(domain, d)]
    await session.execute(
        delete(Delivery).where(Delivery.state == "pending", Delivery.domain.in_(domains))
    )
    return domain


async def unblock_domain(session: AsyncSession, domain: str) -> bool:
    result = await session.execute(
        delete(DomainBlock).where(DomainBlock.domain == normalize_domain(domain))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
