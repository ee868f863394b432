"""What remote events, callouts, notes, votes and relays mean for this node.

Content is taken only from actors the node follows, with one exception:
answers to our own callouts count from any signed fediverse account. An
object is changed or deleted only by the actor that published it, and a
relayed (Announced) object is always fetched from its origin, never taken
from the relayer's copy; so is another server's object a ``Create`` names by
URL. A malformed object raises ``MalformedError``, which the inbound processor
(``node.inbound``) reports once: the activity is dropped with its reason.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import Activity, as_list, first_str, id_of
from federation.errors import FederationError, TransientFetchError
from federation.hosts import url_authority
from node import relay
from node.alerts.queue import queue_received_alerts
from node.ap.activities import ignore_to_as
from node.ap.callouts import option_from_name
from node.ap.parse import localized, note_columns
from node.ap.remote_callouts import as_question_to_remote_callout, is_tocsin_callout
from node.ap.remote_events import as_event_to_remote_event
from node.content.callouts import answer_callout
from node.content.followed import is_followed
from node.content.held import known_absent
from node.content.models import Callout, Event, RemoteNote, Tombstone
from node.context import NodeContext
from node.follows import send_to_actor
from node.identity import group_actor
from node.models import RemoteActor
from node.outbox import new_activity_id

log = logging.getLogger(__name__)

Stored = Event | Callout | RemoteNote
# a callout being checked collects answers; an enough one takes them as standby
TAKES_ANSWERS = frozenset({"unverified", "open", "enough"})


_MODELS: dict[str, type[Stored]] = {"event": Event, "callout": Callout, "note": RemoteNote}
_HELD = union_all(
    *(
        select(literal(kind), model.id).where(model.uri == bindparam("uri"))
        for kind, model in _MODELS.items()
    ),
    select(literal("tombstone"), literal(0)).where(Tombstone.uri == bindparam("uri")),
)


async def _lookup(session: AsyncSession, uri: str) -> tuple[Stored | None, bool]:
    """What we hold under ``uri``, and whether it was deleted: one round trip
    for the common case of an object never seen before.

    Without flushing what the transaction added so far (a batch's new rows are
    then inserted together, at its end), unless something added, changed or
    deleted and not yet flushed has this ``uri``: then flushed first, so an
    object seen twice in one batch is found and changed as if stored before.
    In a batch, a URI its first query found nowhere costs no round trip
    (``node.content.held``)."""
    unflushed = (*session.new, *session.dirty, *session.deleted)
    if any(getattr(row, "uri", None) == uri for row in unflushed):
        await session.flush()
    elif known_absent(session, uri):  # the batch's first query found nothing under it
        return None, False
    with session.no_autoflush:
        found = (await session.execute(_HELD, {"uri": uri})).all()
    kinds = {kind: row_id for kind, row_id in found}
    deleted = kinds.pop("tombstone", None) is not None
    for kind, row_id in kinds.items():
        return await session.get(_MODELS[kind], row_id), deleted
    return None, deleted


async def _stored(session: AsyncSession, uri: str) -> Stored | None:
    return (await _lookup(session, uri))[0]


def _kind(doc: dict[str, Any], context: Any) -> str | None:
    kind = first_str(doc.get("type"))
    if kind == "Event":
        return "event"
    if kind == "Question" and is_tocsin_callout(doc, context=context):
        return "callout"
    if kind == "Note":
        return "note"
    return None


async def store_object(
    session: AsyncSession,
    doc: dict[str, Any],
    owner: str,
    *,
    relayed_by: str | None = None,
    context: Any = None,
) -> Stored | None:
    """Insert or update a remote object of ``owner``; None when it is not ours to keep.

    ``context`` is the enclosing activity's ``@context`` for an embedded object.
    """
    uri = id_of(doc)
    kind = _kind(doc, context)
    if uri is None or kind is None:
        log.info("ignoring object %s of type %s", uri, doc.get("type"))
        return None
    existing, deleted = await _lookup(session, uri)
    if deleted:
        log.info("ignoring %s: it was deleted", uri)
        return None
    if existing is not None and (existing.actor_uri != owner or getattr(existing, "local", False)):
        log.warning("refusing %s from %s: it belongs to %s", uri, owner, existing.actor_uri)
        return None
    values = _values(kind, doc)
    values.update(uri=uri, actor_uri=owner, raw=doc)
    if kind != "note":
        values.update(local=False, origin_domain=url_authority(uri))
        if relayed_by is not None:
            values["relayed_by"] = relayed_by
    model = _MODELS[kind]
    row = existing if existing is not None else model()
    for name, value in values.items():
        setattr(row, name, value)
    if existing is None:
        session.add(row)
    await queue_received_alerts(session, row)  # new or changed: alert who chose other networks
    return row


def _values(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    if kind == "event":
        return as_event_to_remote_event(doc)
    if kind == "callout":
        return as_question_to_remote_callout(doc)
    return note_columns(doc)


async def receive_create(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    doc = activity.object
    if doc is None and activity.object_id:
        doc = await _fetch_created(node, session, activity)
    if doc is None:
        return
    if first_str(doc.get("type")) == "Note" and await _receive_vote(node, session, activity, doc):
        return
    if not await is_followed(session, activity.actor, or_asked=True):
        log.info("ignoring Create %s: %s is not followed", activity.id, activity.actor)
        return
    # a MalformedError is the inbound processor's to report: dropped once, with its reason
    stored = await store_object(session, doc, activity.actor, context=activity.raw.get("@context"))
    await _relay_hook(node, session, stored, activity.actor)


async def _relay_hook(
    node: NodeContext, session: AsyncSession, stored: Stored | None, sender: str
) -> None:
    """Pass an urgent callout on (``node.relay``); refetch a relayed callout whose
    relayer tells us, in a reply, that its state changed."""
    if isinstance(stored, Callout):
        await relay.relay_callout(node, session, stored, sender)
    elif isinstance(stored, RemoteNote) and stored.in_reply_to:
        callout = await session.scalar(
            select(Callout).where(
                Callout.uri == stored.in_reply_to,
                Callout.relayed_by == sender,
                Callout.local.is_(False),
            )
        )
        if callout is not None:
            await _refetch(node, session, callout)


async def _refetch(node: NodeContext, session: AsyncSession, callout: Callout) -> None:
    try:
        doc = await node.directory.fetch(callout.uri)  # from its origin, as ever
    except FederationError as exc:
        log.info("could not refetch relayed %s: %s", callout.uri, exc)
        return
    if id_of(doc.get("attributedTo")) != callout.actor_uri:
        log.info(
            "ignoring refetched %s: no longer attributed to %s", callout.uri, callout.actor_uri
        )
        return
    if await store_object(session, doc, callout.actor_uri) is not None:
        await relay.relay_change(node, session, callout)


async def _fetch_created(
    node: NodeContext, session: AsyncSession, activity: Activity
) -> dict[str, Any] | None:
    """The object a ``Create`` names by URL, when it is the sender's own: its id
    and every ``attributedTo`` on the sender's host.

    An object on another host is handled as an ``Announce`` of it, not refused:
    a followed node passing on someone else's event is relaying it, and the
    calendar stays right only if the event is kept as its real owner's (whose
    later ``Update`` and ``Delete`` then apply) with the sender shown as relayer.
    Refusing it would leave the calendar right too, but lose an event a followed
    node chose to share. An own-host object attributed elsewhere is nobody's.
    """
    uri, host = activity.object_id, url_authority(activity.actor)
    if uri is None:
        return None
    if url_authority(uri) != host:
        await _relay(node, session, activity)
        return None
    doc = await node.directory.fetch(uri)  # its id is ``uri``: the fetcher checks
    authors = (id_of(author) for author in as_list(doc.get("attributedTo")))
    if any(author is not None and url_authority(author) != host for author in authors):
        log.info("ignoring Create %s: its object is attributed to another host", activity.id)
        return None
    return doc


async def _receive_vote(
    node: NodeContext, session: AsyncSession, activity: Activity, note: dict[str, Any]
) -> bool:
    """A poll answer to one of our callouts; True when the Note was one (counted or not)."""
    target = id_of(note.get("inReplyTo"))
    name = localized(note, "name")
    if target is None or not isinstance(name, str) or not target.startswith(node.urls.base + "/"):
        return False
    callout = await _answered_callout(session, target)
    option = option_from_name(name)
    if callout is None or option is None:
        return False
    if id_of(note.get("attributedTo")) not in (None, activity.actor):
        return True
    if callout.status not in TAKES_ANSWERS or callout.ends_at <= datetime.now(UTC):
        log.info("ignoring a vote on closed callout %s", callout.uri)
        return True
    counted = await answer_callout(node, session, callout, activity.actor, option, activity.id)
    log.info(
        "vote from %s on %s %s", activity.actor, callout.uri, "counted" if counted else "repeated"
    )
    return True


_ANSWERED = "tocsin: local callouts voted on in this session, by uri"


async def _answered_callout(session: AsyncSession, uri: str) -> Callout | None:
    """Our callout ``uri``, read once per session: a batch of received activities
    (one session) may hold hundreds of votes on one callout. The row is the
    session's own object, which the batch's dispatch refreshes."""
    known: dict[str, Callout | None] = session.info.setdefault(_ANSWERED, {})
    if uri not in known:
        known[uri] = await session.scalar(
            select(Callout).where(Callout.uri == uri, Callout.local.is_(True))
        )
    return known[uri]


async def receive_update(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    doc = activity.object
    if doc is None:
        return
    uri = id_of(doc)
    existing = await _stored(session, uri) if uri else None
    if existing is None:
        if await is_followed(session, activity.actor):
            stored = await store_object(
                session, doc, activity.actor, context=activity.raw.get("@context")
            )
            await _relay_hook(node, session, stored, activity.actor)
        return
    if existing.actor_uri != activity.actor:
        log.warning("refusing Update of %s by %s: not its owner", uri, activity.actor)
        return
    stored = await store_object(session, doc, activity.actor, context=activity.raw.get("@context"))
    if isinstance(stored, Callout):
        await relay.relay_change(node, session, stored)


async def receive_delete(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    uri = activity.object_id
    existing = await _stored(session, uri) if uri else None
    if existing is None:
        return
    if existing.actor_uri != activity.actor or getattr(existing, "local", False):
        log.warning("refusing Delete of %s by %s: not its owner", uri, activity.actor)
        return
    former = {Event: "Event", Callout: "Question", RemoteNote: "Note"}[type(existing)]
    await session.delete(existing)
    session.add(Tombstone(uri=uri, former_type=former))


async def receive_announce(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    await _relay(node, session, activity)


async def _relay(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    """Keep the object ``activity`` names as its owner's, relayed by the sender."""
    uri = activity.object_id
    if uri is None or uri.startswith(node.urls.base + "/"):
        return  # a boost of our own object
    if not await is_followed(session, activity.actor):
        log.info("ignoring %s %s: %s is not followed", activity.type, activity.id, activity.actor)
        return
    try:
        doc = await node.directory.fetch(uri)  # from its origin, never the relayer's copy
    except TransientFetchError:
        raise  # a relayed callout is worth waiting for: the activity is retried with backoff
    except FederationError as exc:
        log.info("could not fetch announced %s: %s", uri, exc)
        return
    owner = id_of(doc.get("attributedTo")) or id_of(doc.get("actor"))
    if owner is None or url_authority(owner) != url_authority(uri):
        log.info("ignoring announced %s: its owner is not on its host", uri)
        return
    existing = await _stored(session, uri)
    if existing is not None and not isinstance(existing, RemoteNote):
        return  # already known (perhaps we follow its origin too)
    try:
        await node.directory.actor(owner, session=session)  # so the calendar names the origin
    except TransientFetchError:
        raise
    except FederationError as exc:
        log.info("ignoring announced %s: its owner %s is unreachable: %s", uri, owner, exc)
        return
    stored = await store_object(session, doc, owner, relayed_by=activity.actor)
    await _relay_hook(node, session, stored, activity.actor)


async def receive_undo_announce(
    node: NodeContext, session: AsyncSession, activity: Activity
) -> bool:
    obj = activity.object or {}
    uri = id_of(obj.get("object")) if first_str(obj.get("type")) == "Announce" else None
    if uri is None:
        return False
    relayer = activity.actor
    copies = [
        await _relayed(session, Event, uri, relayer),
        await _relayed(session, Callout, uri, relayer),
    ]
    for row in copies:
        if row is not None:
            if await is_followed(session, row.actor_uri):
                row.relayed_by = None
            else:
                await session.delete(row)
    return True


Relayable = TypeVar("Relayable", Event, Callout)


async def _relayed(
    session: AsyncSession, model: type[Relayable], uri: str, relayer: str
) -> Relayable | None:
    """Our copy of ``uri``, if ``relayer`` relayed it to us."""
    return await session.scalar(select(model).where(model.uri == uri, model.relayed_by == relayer))


async def answer_join(node: NodeContext, session: AsyncSession, activity: Activity) -> None:
    """RSVPs are not handled over ActivityPub (``joinMode: none``): FEP-8a8e asks
    for an ``Ignore`` in reply to every Join."""
    remote = await session.scalar(select(RemoteActor).where(RemoteActor.uri == activity.actor))
    if remote is None:
        return
    local = await group_actor(session)
    ignore = ignore_to_as(
        activity_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        join_id=activity.id,
        joiner=activity.actor,
    )
    await send_to_actor(node, session, local, remote, ignore)


async def forget_remote_content(session: AsyncSession, actor_uri: str) -> None:
    """An actor deleted itself: its events, callouts and notes go too."""
    for model in (Event, Callout, RemoteNote):
        await session.execute(delete(model).where(model.actor_uri == actor_uri))
