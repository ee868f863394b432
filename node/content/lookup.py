"""Finding one of our own objects by the id or the URL a command printed."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.content.models import Callout, Event

T = TypeVar("T", Event, Callout)


class NotFound(LookupError):
    """No such object of ours; the message says what was looked for."""


async def find_local(session: AsyncSession, model: type[T], ref: str) -> T:
    ref = ref.strip()
    key = model.id == int(ref) if ref.isdigit() else model.uri == ref
    found = await session.scalar(select(model).where(model.local.is_(True), key))
    if found is None:
        raise NotFound(f"no {model.__name__.lower()} of this node is {ref!r}")
    return found


def as_item(found: object) -> Event | Callout | None:
    """``found`` as an event or a callout, or None: what a query over a model
    chosen at run time (``type[Event] | type[Callout]``) returns, typed."""
    return found if isinstance(found, Event | Callout) else None
