"""Blocks that come from elsewhere: a CSV file, or a subscribed node's list.

Every block row says where it came from (``DomainBlock.source``): ``local``
(an admin typed it), ``csv:<file>`` (imported from a Mastodon CSV,
``node.block_csv``) or the actor URL of a subscribed list
(``node.blocklist_subscriptions``). A domain is blocked once: a list that
names a domain already blocked leaves the existing row, and its source, as
they are. An admin's unblock of a subscribed entry is remembered
(``BlockOverride``) so that the list's next refresh does not bring it back.

What this node publishes (when the admin turns publishing on) is its own
judgement only: the ``local`` and ``csv:`` rows, never what it took from
another node's list (subscribe to that node instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.hosts import normalize_domain, split_port
from node.block_csv import BlockEntry
from node.blocks import unblock_domain
from node.models import (
    BlockOverride,
    Delivery,
    DomainBlock,
    Follower,
    Following,
    RemoteActor,
)
from node.settings_store import get_setting, set_setting

LOCAL = "local"
PUBLISH_SETTING = "blocklist_published"


def is_subscribed_source(source: str) -> bool:
    return source.startswith(("https://", "http://"))


def _covered(domain: str, blocks: set[str]) -> bool:
    """Whether any of ``blocks`` covers ``domain`` (``node.blocks.covers``, for many)."""
    host, port = split_port(domain)
    labels = host.split(".")
    for start in range(len(labels)):
        suffix = ".".join(labels[start:])
        if suffix in blocks or (port is not None and f"{suffix}:{port}" in blocks):
            return True
    return False


async def _drop_covered(session: AsyncSession, blocks: set[str]) -> None:
    """Drop follows both ways and pending deliveries of servers now blocked, in one pass."""
    if not blocks:
        return
    actors = await session.execute(select(RemoteActor.id, RemoteActor.domain))
    ids = [row.id for row in actors if _covered(row.domain, blocks)]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        await session.execute(delete(Follower).where(Follower.remote_actor_id.in_(chunk)))
        await session.execute(delete(Following).where(Following.remote_actor_id.in_(chunk)))
    pending = await session.scalars(
        select(Delivery.domain).where(Delivery.state == "pending").distinct()
    )
    domains = [d for d in pending.all() if _covered(d, blocks)]
    for start in range(0, len(domains), 1000):
        chunk = domains[start : start + 1000]
        await session.execute(
            delete(Delivery).where(Delivery.state == "pending", Delivery.domain.in_(chunk))
        )


async def block_many(
    session: AsyncSession, entries: Iterable[BlockEntry], *, source: str, own_host: str
) -> list[str]:
    """Block every entry not blocked yet (nor overridden for ``source``, nor this
    node itself); returns the domains newly blocked. The caller commits."""
    existing = set((await session.scalars(select(DomainBlock.domain))).all())
    overridden = set(
        (
            await session.scalars(
                select(BlockOverride.domain).where(BlockOverride.source == source)
            )
        ).all()
    )
    added: dict[str, BlockEntry] = {}
    for entry in entries:
        skip = entry.domain in existing or entry.domain in overridden or entry.domain in added
        if skip or _covered(own_host, {entry.domain}):
            continue
        added[entry.domain] = entry
    for entry in added.values():
        session.add(
            DomainBlock(
                domain=entry.domain,
                severity=entry.severity,
                public_reason=entry.public_reason,
                source=source,
            )
        )
    await session.flush()
    await _drop_covered(session, set(added))
    return list(added)


async def unblock_local(session: AsyncSession, domain: str) -> bool:
    """An admin's unblock; a subscribed entry stays unblocked on the next refresh."""
    domain = normalize_domain(domain)
    row = await session.get(DomainBlock, domain)
    subscribed = row is not None and is_subscribed_source(row.source)
    if (
        row is not None
        and subscribed
        and not await session.get(BlockOverride, (domain, row.source))
    ):
        session.add(BlockOverride(domain=domain, source=row.source))
    return await unblock_domain(session, domain)


def own_blocks() -> Select[Any]:
    """The blocks this node decided itself: what it publishes and exports."""
    return (
        select(DomainBlock)
        .where(or_(DomainBlock.source == LOCAL, DomainBlock.source.like("csv:%")))
        .order_by(DomainBlock.domain)
    )


def entries_of(rows: Sequence[DomainBlock]) -> list[BlockEntry]:
    return [BlockEntry(r.domain, r.severity, r.public_reason) for r in rows]


async def is_published(session: AsyncSession) -> bool:
    return bool(await get_setting(session, PUBLISH_SETTING, False))


async def set_published(session: AsyncSession, on: bool) -> None:
    await set_setting(session, PUBLISH_SETTING, on)
