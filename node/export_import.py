"""Restoring an export (``node.export``) into an empty node."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.errors import FederationError
from federation.hosts import url_authority
from node.ap.callouts import callout_to_as
from node.ap.events import event_to_as
from node.content.models import Callout, CalloutResponse, Event
from node.content.publish import publish
from node.context import NodeContext
from node.export import PROFILE, ExportError, check_export, dict_to_row, is_empty
from node.follows import FollowError, follow
from node.identity import group_actor
from node.models import (
    BlocklistSubscription,
    BlockOverride,
    DomainAllow,
    DomainBlock,
    utcnow,
)
from node.settings_store import set_setting

log = logging.getLogger(__name__)

MOVED_FROM = "moved_from"  # the old actor an import came from
FORMER_FOLLOWERS = "former_followers"  # who followed it: the Move brings them over


@dataclass
class ImportReport:
    events: int = 0
    callouts: int = 0
    blocks: int = 0
    follows_sent: int = 0
    former_followers: int = 0
    problems: list[str] = field(default_factory=list)
    uri_map: dict[str, str] = field(default_factory=dict)


async def import_node(node: NodeContext, doc: Any) -> ImportReport:
    """Restore ``doc`` into this node, which must be empty; one transaction for
    the data, then the Follows (each fetched and queued on its own)."""
    doc = check_export(doc)
    report = ImportReport()
    async with node.sessions() as session, session.begin():
        if not await is_empty(session):
            raise ExportError("this node is not empty; import only into a new node")
        actor = await group_actor(session)
        for key in PROFILE:
            if key in doc["actor"]:
                setattr(actor, key, doc["actor"][key])
        actor.updated_at = utcnow()
        for key, value in doc["settings"].items():
            await set_setting(session, key, value)
        await set_setting(session, MOVED_FROM, doc["actor"]["id"])
        followers = [f["actor"] for f in doc["followers"] if f.get("state") == "accepted"]
        await set_setting(session, FORMER_FOLLOWERS, followers)
        report.former_followers = len(followers)
        await _content(node, session, doc, report)
        report.blocks = await _policy(session, doc)
        await set_setting(session, "import_uri_map", report.uri_map)
    node.blocks.invalidate()
    await _follow_again(node, doc, report)
    return report


async def _content(node: NodeContext, session: Any, doc: dict[str, Any], report: Any) -> None:
    old_base = str(doc.get("base_url", ""))
    actor_id = node.urls.actor((await group_actor(session)).username)
    now = datetime.now(UTC)
    for values in doc["events"]:
        event = dict_to_row(Event, values)
        if event.local:
            await _rehome(node, session, event, "events", actor_id, old_base, report)
            language = node.settings.language
            created = event_to_as(event, node.urls, actor_id, language=language)
            await publish(node, session, "Create", created)
        else:
            session.add(event)
        report.events += 1
    for values in doc["callouts"]:
        responses = values.pop("responses", [])
        callout = dict_to_row(Callout, values)
        if callout.local:
            await _rehome(node, session, callout, "callouts", actor_id, old_base, report)
            obj = callout_to_as(
                callout, node.urls, actor_id, now=now, language=node.settings.language
            )
            await publish(node, session, "Create", obj)
        else:
            session.add(callout)
            await session.flush()
        for response in responses:
            session.add(dict_to_row(CalloutResponse, {**response, "callout_id": callout.id}))
        report.callouts += 1


async def _rehome(
    node: NodeContext,
    session: Any,
    row: Event | Callout,
    segment: str,
    actor_id: str,
    old_base: str,
    report: ImportReport,
) -> None:
    """Give one of the node's own objects this node's URLs (it keeps its dates)."""
    old_uri = row.uri
    row.uri, row.url = "", ""
    row.actor_uri, row.origin_domain = actor_id, url_authority(node.urls.base)
    session.add(row)
    await session.flush()
    row.uri = row.url = f"{node.urls.base}/{segment}/{row.id}"
    if old_uri.startswith(old_base):
        report.uri_map[old_uri] = row.uri


async def _policy(session: Any, doc: dict[str, Any]) -> int:
    for model, key in (
        (DomainBlock, "blocks"),
        (BlockOverride, "block_overrides"),
        (DomainAllow, "allows"),
    ):
        for values in doc.get(key, []):
            session.add(dict_to_row(model, values))
    for values in doc.get("subscriptions", []):
        row = dict_to_row(BlocklistSubscription, values)
        row.next_refresh_at = utcnow()  # refreshed by the new node's worker soon
        session.add(row)
    return len(doc["blocks"])


async def _follow_again(node: NodeContext, doc: dict[str, Any], report: ImportReport) -> None:
    for entry in doc["following"]:
        try:
            remote = await node.directory.actor(entry["actor"])
            async with node.sessions() as session, session.begin():
                await follow(node, session, remote)
            report.follows_sent += 1
        except (FederationError, FollowError) as exc:
            message = exc.public_message if isinstance(exc, FederationError) else str(exc)
            report.problems.append(f"could not follow {entry['actor']} again: {message}")
    node.wake()
