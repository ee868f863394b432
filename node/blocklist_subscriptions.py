"""Subscriptions to other nodes' published block lists.

An admin subscribes to a trusted node (``tocsin blocks subscribe @name@host``):
its actor is fetched and its ``blockList`` collection read through the node's
safe fetcher (size caps, no private addresses in production, id == URL, never
from a blocked server). Each block it lists is applied with the list's actor
URL as its ``source`` (``node.blocklists``).

The worker refreshes each subscription every ``REFRESH_INTERVAL`` (the
``refresh_due`` job): a subscription is claimed by moving its next refresh
time forward in one conditional UPDATE, so two workers never refresh the same
one. On refresh, entries the list no longer has are removed (only those that
came from it), new ones are added, and those an admin unblocked stay unblocked.
Bounded: at most ``MAX_ENTRIES`` entries and ``MAX_PAGES`` pages per list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import as_list, id_of
from federation.errors import FederationError
from federation.hosts import url_authority
from node.ap.blocklist import as_to_block_entry
from node.block_csv import BlockEntry
from node.blocklists import block_many
from node.context import NodeContext
from node.follows import resolve_target
from node.i18n import gettext as _
from node.models import BlocklistSubscription, BlockOverride, DomainBlock, utcnow

log = logging.getLogger(__name__)

REFRESH_INTERVAL = timedelta(hours=6)
RETRY_INTERVAL = timedelta(hours=1)
MAX_ENTRIES = 10_000
MAX_PAGES = 50
CLAIM_BATCH = 5


class SubscriptionError(ValueError):
    """A subscription cannot be made or refreshed; the message says why."""


@dataclass(frozen=True)
class RefreshResult:
    added: int
    removed: int
    total: int


async def fetch_entries(node: NodeContext, collection_url: str) -> list[BlockEntry]:
    """Every block a published list holds, page by page, under the caps."""
    collection = await node.directory.fetch(collection_url)
    entries: list[BlockEntry] = []
    page: Any = collection.get("first")
    items: list[Any] = as_list(collection.get("orderedItems"))
    for _page in range(MAX_PAGES + 1):
        for item in items:
            entry = as_to_block_entry(item)
            if entry is not None:
                entries.append(entry)
            if len(entries) >= MAX_ENTRIES:
                return entries
        url = id_of(page) if page is not None else None
        if url is None or url_authority(url) != url_authority(collection_url):
            return entries
        doc = page if isinstance(page, dict) and "orderedItems" in page else None
        doc = doc or await node.directory.fetch(url)
        items, page = as_list(doc.get("orderedItems")), doc.get("next")
    return entries


async def subscribe(node: NodeContext, target: str) -> BlocklistSubscription:
    """Subscribe to ``target``'s list (a handle or an actor URL); not yet refreshed."""
    try:
        remote = await resolve_target(node, target)
    except FederationError as exc:
        raise SubscriptionError(f"{target}: {exc.public_message}") from exc
    url = remote.raw.get("blockList")
    if not isinstance(url, str) or url_authority(url) != url_authority(remote.uri):
        raise SubscriptionError(_("%(node)s does not publish a block list", node=target))
    async with node.sessions() as session, session.begin():
        row = await session.scalar(
            select(BlocklistSubscription).where(BlocklistSubscription.actor_uri == remote.uri)
        )
        if row is not None:
            raise SubscriptionError(_("already subscribed to %(node)s", node=remote.uri))
        row = BlocklistSubscription(actor_uri=remote.uri, collection_url=url, entries=0)
        session.add(row)
    return row


async def unsubscribe(session: AsyncSession, actor_uri: str) -> int:
    """Drop a subscription and the blocks that came from it; how many blocks went."""
    row = await session.scalar(
        select(BlocklistSubscription).where(BlocklistSubscription.actor_uri == actor_uri)
    )
    if row is None:
        raise SubscriptionError(_("not subscribed to %(node)s", node=actor_uri))
    result = await session.execute(delete(DomainBlock).where(DomainBlock.source == actor_uri))
    await session.execute(delete(BlockOverride).where(BlockOverride.source == actor_uri))
    await session.delete(row)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def apply_entries(
    node: NodeContext, session: AsyncSession, source: str, entries: list[BlockEntry]
) -> RefreshResult:
    """Make the blocks from ``source`` exactly ``entries`` (overrides excepted)."""
    wanted = {entry.domain: entry for entry in entries}
    current = (await session.scalars(select(DomainBlock).where(DomainBlock.source == source))).all()
    removed = 0
    for row in current:
        entry = wanted.get(row.domain)
        if entry is None:
            await session.delete(row)
            removed += 1
        else:
            row.severity, row.public_reason = entry.severity, entry.public_reason
    added = await block_many(session, entries, source=source, own_host=node.settings.host)
    return RefreshResult(len(added), removed, len(wanted))


async def refresh(node: NodeContext, subscription_id: int) -> RefreshResult:
    """Fetch one subscribed list now and apply it; the error is kept on failure."""
    async with node.sessions() as session:
        row = await session.get(BlocklistSubscription, subscription_id)
        if row is None:
            raise SubscriptionError(_("no such subscription"))
        source, url = row.actor_uri, row.collection_url
    try:
        entries = await fetch_entries(node, url)
    except FederationError as exc:
        await _note_failure(node, subscription_id, exc.public_message)
        raise SubscriptionError(f"{source}: {exc.public_message}") from exc
    async with node.sessions() as session, session.begin():
        result = await apply_entries(node, session, source, entries)
        row = await session.get(BlocklistSubscription, subscription_id)
        if row is not None:
            row.last_refreshed_at, row.last_error, row.entries = utcnow(), None, result.total
    node.blocks.invalidate()
    return result


async def _note_failure(node: NodeContext, subscription_id: int, message: str) -> None:
    async with node.sessions() as session, session.begin():
        await session.execute(
            update(BlocklistSubscription)
            .where(BlocklistSubscription.id == subscription_id)
            .values(last_error=message, next_refresh_at=utcnow() + RETRY_INTERVAL)
        )


async def _claim(node: NodeContext, now: datetime) -> list[int]:
    """Subscriptions due, each claimed by moving its next refresh time forward."""
    async with node.sessions() as session, session.begin():
        due = (
            await session.scalars(
                select(BlocklistSubscription.id)
                .where(BlocklistSubscription.next_refresh_at <= now)
                .order_by(BlocklistSubscription.next_refresh_at)
                .limit(CLAIM_BATCH)
            )
        ).all()
        claimed = []
        for subscription_id in due:
            result = await session.execute(
                update(BlocklistSubscription)
                .where(
                    BlocklistSubscription.id == subscription_id,
                    BlocklistSubscription.next_refresh_at <= now,
                )
                .values(next_refresh_at=now + REFRESH_INTERVAL)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(subscription_id)
    return claimed


async def refresh_due(node: NodeContext, now: datetime) -> int:
    """The worker's job: refresh the subscriptions that are due (one query when none is)."""
    handled = 0
    for subscription_id in await _claim(node, now):
        try:
            result = await refresh(node, subscription_id)
        except SubscriptionError as exc:
            log.info("block list refresh failed: %s", exc)
        else:
            log.info("block list refreshed: %d added, %d removed", result.added, result.removed)
        handled += 1
    return handled
