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
from node.i18n import gettext as _
from node.i18n import lazy_gettext
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
NEEDS_ARG = {
    "import": lazy_gettext("blocks import needs a CSV file"),
    "export": lazy_gettext("blocks export needs a CSV file"),
    "publish": lazy_gettext("blocks publish needs on or off"),
    "subscribe": lazy_gettext("blocks subscribe needs a node (@name@host)"),
    "unsubscribe": lazy_gettext("blocks unsubscribe needs a node (@name@host or URL)"),
}


def _fail(message: str) -> int:
    print(f"tocsin: {message}", file=sys.stderr)
    return 2


async def run_blocks_action(action: str, arg: str | None, settings: Settings) -> int:
    if action in NEEDS_ARG and not arg:
        return _fail(str(NEEDS_ARG[action]))
    if action == "publish" and arg not in ("on", "off"):
        return _fail(_("blocks publish takes on or off"))
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
    print(
        _(
            "Blocked %(count)s servers (%(already)s already blocked).",
            count=len(added),
            already=len(parsed.entries) - len(added),
        )
    )
    for line in parsed.skipped:
        print(_("skipped %(line)s", line=line))
    return 0


async def _export(node: NodeContext, path: str) -> int:
    async with node.sessions() as session:
        rows = (await session.scalars(own_blocks())).all()
    await asyncio.to_thread(Path(path).write_text, format_csv(entries_of(rows)), encoding="utf-8")
    print(
        _(
            "Wrote %(count)s blocks to %(path)s (Mastodon's domain-block CSV).",
            count=len(rows),
            path=path,
        )
    )
    return 0


async def _publish(node: NodeContext, value: str) -> int:
    async with node.sessions() as session, session.begin():
        await set_published(session, value == "on")
        (await group_actor(session)).updated_at = utcnow()  # the actor document links it
    if value == "on":
        print(_("Publishing of the block list is on."))
    else:
        print(_("Publishing of the block list is off."))
    return 0


async def _subscribe(node: NodeContext, target: str) -> int:
    row = await subscribe(node, target)
    result = await refresh(node, row.id)
    print(
        _(
            "Subscribed to %(uri)s: %(added)s servers blocked, %(total)s listed.",
            uri=row.actor_uri,
            added=result.added,
            total=result.total,
        )
    )
    return 0


async def _unsubscribe(node: NodeContext, target: str) -> int:
    uri = target
    if not uri.startswith(("https://", "http://")):
        uri = (await resolve_target(node, target)).uri
    async with node.sessions() as session, session.begin():
        removed = await unsubscribe(session, uri)
    print(
        _(
            "Unsubscribed from %(uri)s; %(count)s blocks that came from it were lifted.",
            uri=uri,
            count=removed,
        )
    )
    return 0


async def _subscriptions(node: NodeContext, _arg: str) -> int:
    async with node.sessions() as session:
        rows = (await session.scalars(select(BlocklistSubscription))).all()
    if not rows:
        print(_("(no subscriptions)"))
    for row in rows:
        when = (
            row.last_refreshed_at.strftime("%Y-%m-%d %H:%M")
            if row.last_refreshed_at
            else _("never")
        )
        error = "  " + _("last error: %(error)s", error=row.last_error) if row.last_error else ""
        said = _("%(count)s entries, refreshed %(when)s", count=row.entries, when=when)
        print(f"{row.actor_uri}  {said}{error}")
    return 0


async def _refresh(node: NodeContext, _arg: str) -> int:
    async with node.sessions() as session:
        ids = (await session.scalars(select(BlocklistSubscription.id))).all()
    for subscription_id in ids:
        result = await refresh(node, subscription_id)
        print(
            _(
                "refreshed: %(added)s added, %(removed)s removed, %(total)s listed",
                added=result.added,
                removed=result.removed,
                total=result.total,
            )
        )
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
