"""``tocsin blocks import|export|publish|subscribe|unsubscribe|subscriptions|refresh``.

Shared block lists (``node.blocklists``, ``node.blocklist_subscriptions``) and
Mastodon's domain-block CSV (``node.block_csv``) from the command line.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy import select

from federation.errors import FederationError
from node.block_csv import CsvError, format_csv, parse_csv
from node.blocklist_subscriptions import SubscriptionError, refresh, subscribe, unsubscribe
from node.blocklists import block_many, entries_of, own_blocks, set_published
from node.config import Settings
from node.context import NodeContext
from node.follows import resolve_target
from node.identity import group_actor
from node.models import BlocklistSubscription, utcnow
from node.runtime import node_context

BLOCKS_ACTIONS = (
    "list",
    "import",
    "export",
    "publish",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "refresh",
)
NEEDS_ARG = {"import": "a CSV file", "export": "a CSV file", "publish": "on or off"}
NEEDS_ARG |= {"subscribe": "a node (@name@host)", "unsubscribe": "a node (@name@host or URL)"}


def _fail(message: str) -> int:
    print(f"tocsin: {message}", file=sys.stderr)
    return 2


async def run_blocks_action(action: str, arg: str | None, settings: Settings) -> int:
    if action in NEEDS_ARG and not arg:
        return _fail(f"blocks {action} needs {NEEDS_ARG[action]}")
    if action == "publish" and arg not in ("on", "off"):
        return _fail("blocks publish takes on or off")
    async with node_context(settings) as node:
        try:
            return await _ACTIONS[action](node, arg or "")
        except (CsvError, SubscriptionError, OSError) as exc:
            return _fail(str(exc))
        except FederationError as exc:
            return _fail(exc.public_message)


async def _import(node: NodeContext, path: str) -> int:
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8-sig")
    parsed = parse_csv(text)
    async with node.sessions() as session, session.begin():
        added = await block_many(
            session, parsed.entries, source=f"csv:{Path(path).name}", own_host=node.settings.host
        )
    print(f"Blocked {len(added)} servers ({len(parsed.entries) - len(added)} already blocked).")
    for line in parsed.skipped:
        print(f"skipped {line}")
    return 0


async def _export(node: NodeContext, path: str) -> int:
    async with node.sessions() as session:
        rows = (await session.scalars(own_blocks())).all()
    await asyncio.to_thread(Path(path).write_text, format_csv(entries_of(rows)), encoding="utf-8")
    print(f"Wrote {len(rows)} blocks to {path} (Mastodon's domain-block CSV).")
    return 0


async def _publish(node: NodeContext, value: str) -> int:
    async with node.sessions() as session, session.begin():
        await set_published(session, value == "on")
        (await group_actor(session)).updated_at = utcnow()  # the actor document links it
    print(f"Publishing of the block list is {value}.")
    return 0


async def _subscribe(node: NodeContext, target: str) -> int:
    row = await subscribe(node, target)
    result = await refresh(node, row.id)
    print(f"Subscribed to {row.actor_uri}: {result.added} servers blocked, {result.total} listed.")
    return 0


async def _unsubscribe(node: NodeContext, target: str) -> int:
    uri = target
    if not uri.startswith(("https://", "http://")):
        uri = (await resolve_target(node, target)).uri
    async with node.sessions() as session, session.begin():
        removed = await unsubscribe(session, uri)
    print(f"Unsubscribed from {uri}; {removed} blocks that came from it were lifted.")
    return 0


async def _subscriptions(node: NodeContext, _: str) -> int:
    async with node.sessions() as session:
        rows = (await session.scalars(select(BlocklistSubscription))).all()
    if not rows:
        print("(no subscriptions)")
    for row in rows:
        when = (
            row.last_refreshed_at.strftime("%Y-%m-%d %H:%M") if row.last_refreshed_at else "never"
        )
        error = f"  last error: {row.last_error}" if row.last_error else ""
        print(f"{row.actor_uri}  {row.entries} entries, refreshed {when}{error}")
    return 0


async def _refresh(node: NodeContext, _: str) -> int:
    async with node.sessions() as session:
        ids = (await session.scalars(select(BlocklistSubscription.id))).all()
    for subscription_id in ids:
        result = await refresh(node, subscription_id)
        print(f"refreshed: {result.added} added, {result.removed} removed, {result.total} listed")
    return 0


_ACTIONS = {  # "list" is the plain listing of node.cli_federation.cmd_blocks
    "import": _import,
    "export": _export,
    "publish": _publish,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "subscriptions": _subscriptions,
    "refresh": _refresh,
}
