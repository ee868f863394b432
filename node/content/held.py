"""What the node holds under an object's URI: one query per inbound batch, not per activity.

Every received ``Create``, ``Update`` and ``Delete`` asks whether the node
already holds the object it names (an event, a callout, a note) or deleted it
(a tombstone). Outside a batch each question is one query. A batch of the
inbound processor first asks for every URI its payloads name, in one query
(``prefetch``, called by ``node.handlers.prepare_batch``); a URI found in
none of the four tables is then known to be absent without a round trip.

Only absence is remembered, because within the batch's transaction only the
batch itself can make an absent URI present: by adding a row through the ORM
session (an event, callout or note stored, a tombstone written). Such a row
takes its URI out of the remembered set when it is flushed (``_flushed``), and
until then the caller sees it among the session's unflushed rows. A URI that
is held is looked up as before, so a deletion in the batch needs no care.
Another transaction committing the same URI meanwhile meets the unique index,
exactly as when it committed between a lookup and the insert.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from federation.as2 import as_list, first_str, id_of
from node.content.models import Callout, Event, RemoteNote, Tombstone

_ABSENT = "tocsin.absent_uris"  # session.info: URIs known to be held nowhere

_KINDS: dict[str, type[Event | Callout | RemoteNote]] = {
    "event": Event,
    "callout": Callout,
    "note": RemoteNote,
}
# built once (the statement is rebuilt only for its IN list's length)
_HELD_ANY = union_all(
    *(
        select(literal(kind), model.uri).where(model.uri.in_(bindparam("uris", expanding=True)))
        for kind, model in _KINDS.items()
    ),
    select(literal("tombstone"), Tombstone.uri).where(
        Tombstone.uri.in_(bindparam("uris", expanding=True))
    ),
)
# the activities whose handlers look up the object they carry or name
_LOOKING_UP = frozenset({"Create", "Update", "Delete"})


def object_uris(payloads: Iterable[dict[str, Any]]) -> set[str]:
    """The URIs of the objects these activities carry or name, for ``prefetch``."""
    uris: set[str] = set()
    for payload in payloads:
        if first_str(payload.get("type")) not in _LOOKING_UP:
            continue
        for obj in as_list(payload.get("object"))[:1]:
            uri = id_of(obj)
            if uri is not None:
                uris.add(uri)
    return uris


async def prefetch(session: AsyncSession, uris: Iterable[str]) -> None:
    """Remember which of ``uris`` nothing is held under, in one query."""
    wanted = sorted(set(uris))
    if not wanted:
        return
    found = (await session.execute(_HELD_ANY, {"uris": wanted})).all()
    held = {uri for _kind, uri in found}
    absent: set[str] = session.info.setdefault(_ABSENT, set())
    absent.update(uri for uri in wanted if uri not in held)


def known_absent(session: AsyncSession, uri: str) -> bool:
    """True when nothing is held under ``uri`` (as far as this session's
    flushed writes go: the caller checks its unflushed rows)."""
    absent: set[str] | None = session.info.get(_ABSENT)
    return absent is not None and uri in absent


def forget_held(session: AsyncSession) -> None:
    """Whatever was remembered, the next questions query again."""
    session.info.pop(_ABSENT, None)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    """A row flushed with a URI is held now: its URI is no longer known absent."""
    absent: set[str] | None = session.info.get(_ABSENT)
    if not absent:
        return
    for row in (*session.new, *session.dirty):
        uri = getattr(row, "uri", None)
        if isinstance(uri, str):
            absent.discard(uri)
