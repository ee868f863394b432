"""Whether the node follows an actor: one query per inbound batch, not per activity.

Content is taken only from followed actors, so nearly every received
``Create``, ``Update`` and ``Announce`` asks. Outside a batch each question is
one query. Inside a batch of the inbound processor (``batch_follows``, called
by ``node.handlers.handler_context``) the first question reads every follow
with its state, once, and the rest of the batch answers from that; a handler
that may change follows (an ``Accept``, a ``Reject``, a ``Move``, an actor
deleted) calls ``forget_follows`` so the next question reads them again. The
batch is one transaction, so the answer is the one its first read saw.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.models import Following, RemoteActor

_BATCH = "tocsin.follows"  # session.info: uri → state of our Follow, or None before the read

# Built once: these run for nearly every received activity, and building a
# statement costs more than SQLAlchemy's cached compilation saves.
_FOLLOWED = (
    select(Following.id)
    .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
    .where(RemoteActor.uri == bindparam("uri"), Following.state == "accepted")
    .limit(1)
)
_ASKED = (
    select(Following.id)
    .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
    .where(RemoteActor.uri == bindparam("uri"))
    .limit(1)
)
_ALL = select(RemoteActor.uri, Following.state).join(
    RemoteActor, RemoteActor.id == Following.remote_actor_id
)


def batch_follows(session: AsyncSession) -> None:
    """Questions asked through ``session`` are answered from one read of the follows."""
    session.info.setdefault(_BATCH, None)


def forget_follows(session: AsyncSession) -> None:
    """Follows may have changed in ``session``: the next question reads them again."""
    if _BATCH in session.info:
        session.info[_BATCH] = None


async def is_followed(session: AsyncSession, actor_uri: str, *, or_asked: bool = False) -> bool:
    """Whether we follow the actor; with ``or_asked``, also while our Follow is pending.

    A ``Create`` is taken from an actor our Follow is still pending with: it
    sent it to us, so it counts us among its followers, and its Accept may simply
    be behind it in our inbox (processed in any order, retried). Dropping it
    would lose it for good; the backfill after the Accept reads only the first
    pages of the outbox.
    """
    if _BATCH not in session.info:
        query = _ASKED if or_asked else _FOLLOWED
        return await session.scalar(query, {"uri": actor_uri}) is not None
    follows: dict[str, set[str]] | None = session.info[_BATCH]
    if follows is None:
        follows = {}
        for uri, state in (await session.execute(_ALL)).all():
            follows.setdefault(uri, set()).add(state)
        session.info[_BATCH] = follows
    states = follows.get(actor_uri)
    if not states:
        return False
    return or_asked or "accepted" in states
