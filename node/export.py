"""Everything a node is, as one JSON file, and back into an empty node.

``tocsin export FILE`` writes ``{"tocsin_export": 1, ...}``: the node's
settings, its Group actor's profile, its events and callouts (its own and the
remote ones in its calendar), the responses to its callouts, its follows both
ways, its blocks, block-list subscriptions and allow list. The actor's keys go
in only with ``--with-keys`` (then the file can sign as the node: keep it
safe). Admin accounts are not exported; the new node makes its own.

``tocsin import FILE`` restores into an empty node only (no content, no
follows, no blocks). URLs derive from ``TOCSIN_BASE_URL``, so on a new domain
the node's own events and callouts are re-created under the new node's URLs
(``uri_map`` in the file's ``import`` notes maps old to new); remote entries
keep theirs. Follows of others are sent again (Follow activities queued);
followers are kept as ``former_followers``: they follow the old actor, and the
``Move`` brings them over (docs/moving.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.content.models import Callout, CalloutResponse, Event
from node.identity import group_actor
from node.models import (
    Base,
    BlocklistSubscription,
    BlockOverride,
    DomainAllow,
    DomainBlock,
    Follower,
    Following,
    NodeSetting,
    RemoteActor,
    UTCDateTime,
)
from node.urls import Urls

FORMAT_VERSION = 1
NOT_CARRIED = ("moved_to",)  # settings that belong to one domain only
PROFILE = ("display_name", "summary", "region", "manually_approves_followers")


class ExportError(ValueError):
    """The file cannot be imported here; the message says why."""


def row_to_dict(row: Base, *, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    """A row's columns as JSON values (dates as ISO 8601)."""
    values: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


def dict_to_row(model: type[Base], values: dict[str, Any]) -> Any:
    """A new row of ``model`` from ``row_to_dict``'s output (unknown keys refused)."""
    columns = {column.key: column for column in model.__table__.columns}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in columns or key == "id":
            raise ExportError(f"unknown field {key!r} in {model.__tablename__}")
        if isinstance(columns[key].type, UTCDateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value).astimezone(UTC)
        kwargs[key] = value
    return model(**kwargs)


async def _all(session: AsyncSession, model: type[Base], order: Any) -> list[dict[str, Any]]:
    return [row_to_dict(r) for r in (await session.scalars(select(model).order_by(order))).all()]


async def _follows(session: AsyncSession, model: type[Follower] | type[Following]) -> list[Any]:
    rows = await session.execute(
        select(RemoteActor, model.state)
        .join(model, model.remote_actor_id == RemoteActor.id)
        .order_by(model.id)
    )
    return [
        {"actor": a.uri, "inbox": a.inbox, "shared_inbox": a.shared_inbox, "state": state}
        for a, state in rows.all()
    ]


async def _callouts(session: AsyncSession) -> list[dict[str, Any]]:
    callouts = []
    for callout in (await session.scalars(select(Callout).order_by(Callout.id))).all():
        values = row_to_dict(callout)
        responses = await session.scalars(
            select(CalloutResponse).where(CalloutResponse.callout_id == callout.id)
        )
        # alert subscriptions are not moved: their answers arrive without the link
        skip = ("id", "callout_id", "subscription_id")
        values["responses"] = [row_to_dict(r, skip=skip) for r in responses]
        callouts.append(values)
    return callouts


async def export_node(session: AsyncSession, urls: Urls, *, with_keys: bool) -> dict[str, Any]:
    actor = await group_actor(session)
    actor_id = urls.actor(actor.username)
    settings = (await session.scalars(select(NodeSetting).order_by(NodeSetting.key))).all()
    doc: dict[str, Any] = {
        "tocsin_export": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "base_url": urls.base,
        "actor": {
            "id": actor_id,
            "username": actor.username,
            "key_id": urls.key_id(actor_id),
            "public_key_pem": actor.public_key_pem,
            **{key: getattr(actor, key) for key in PROFILE},
        },
        "settings": {s.key: s.value for s in settings if s.key not in NOT_CARRIED},
        "events": await _all(session, Event, Event.id),
        "callouts": await _callouts(session),
        "followers": await _follows(session, Follower),
        "following": await _follows(session, Following),
        "blocks": await _all(session, DomainBlock, DomainBlock.domain),
        "block_overrides": await _all(session, BlockOverride, BlockOverride.domain),
        "subscriptions": await _all(session, BlocklistSubscription, BlocklistSubscription.id),
        "allows": await _all(session, DomainAllow, DomainAllow.domain),
    }
    if with_keys:
        doc["actor"]["private_key_pem"] = actor.private_key_pem
    return doc


async def is_empty(session: AsyncSession) -> bool:
    """No content, follows or blocks yet: a node an export may be imported into."""
    for model in (Event, Callout, Follower, Following, DomainBlock):
        if await session.scalar(select(func.count()).select_from(model)):
            return False
    return True


def check_export(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict) or "tocsin_export" not in doc:
        raise ExportError("this is not a Tocsin export (no tocsin_export field)")
    if doc["tocsin_export"] != FORMAT_VERSION:
        raise ExportError(f"export format {doc['tocsin_export']!r} is not supported here")
    for key in ("actor", "settings", "events", "callouts", "followers", "following", "blocks"):
        if key not in doc:
            raise ExportError(f"the export has no {key!r}")
    return doc
