"""Backfill on follow: a network we start following fills our calendar at once.

When a followed actor Accepts our Follow, ``node.follows.receive_accept`` sets
the following's ``backfill_due_at`` (in the transaction that records the
Accept; nothing is fetched there). ``run_backfills``, a job of ``node.jobs``,
claims due rows with a lease, reads the actor's FEP-8a8e ``upcomingEvents``
collection and then its outbox (Tocsin lists only events under
``upcomingEvents``; callouts are found in the outbox), and keeps each upcoming
event and open callout as if it had arrived in a ``Create``: fetched again
from its origin (``RemoteDirectory.fetch`` checks the id is the URL), its id on
the actor's host and ``attributedTo`` the actor, stored by
``node.content.receive.store_object``.

A hostile outbox is cut off: at most ``MAX_PAGES`` collection documents and
``MAX_ITEMS`` items looked at, ``MAX_SECONDS`` in all, each document under the
fetcher's size cap; a page is never read twice, nor one on another host; items
on other hosts, not attributed to the actor, past, closed or malformed are
skipped. A failure to read anything is retried (``RETRY_AFTER``), then given up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import as_list, first_str, id_of, link
from federation.errors import FederationError, ForbiddenError
from federation.hosts import url_authority
from node.ap.remote_callouts import as_question_to_remote_callout, is_tocsin_callout
from node.ap.remote_events import as_event_to_remote_event
from node.content.receive import store_object
from node.context import NodeContext
from node.models import Following, RemoteActor

log = logging.getLogger(__name__)

MAX_PAGES = 5  # collection documents read, upcomingEvents and outbox together
MAX_ITEMS = 200  # items looked at
MAX_SECONDS = 30.0
CLAIM_BATCH = 4
LEASE = timedelta(minutes=5)  # longer than MAX_SECONDS: a crashed run is retried after it
RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))
_ACTIVITIES = frozenset({"Create", "Update"})
_OBJECTS = frozenset({"Event", "Question"})


@dataclass
class Budget:
    """What one backfill may still spend."""

    pages: int = MAX_PAGES
    items: int = MAX_ITEMS
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)

    def left(self) -> float:
        return self.deadline - time.monotonic()


async def run_backfills(node: NodeContext, now: datetime) -> int:
    """The job: backfill every following whose backfill is due; returns how many."""
    claimed = await _claim(node, now)
    for following_id, actor_uri, attempts in claimed:
        await _backfill_one(node, following_id, actor_uri, attempts)
    return len(claimed)


async def _claim(node: NodeContext, now: datetime) -> list[tuple[int, str, int]]:
    async with node.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(Following, RemoteActor.uri)
                .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
                .where(Following.backfill_due_at <= now, Following.state == "accepted")
                .order_by(Following.backfill_due_at)
                .limit(CLAIM_BATCH)
                .with_for_update(of=Following, skip_locked=True)
            )
        ).all()
        for following, _ in rows:
            following.backfill_due_at = now + LEASE  # the lease: retried if we crash
            following.backfill_attempts += 1
        return [(f.id, uri, f.backfill_attempts) for f, uri in rows]


async def _backfill_one(node: NodeContext, following_id: int, actor_uri: str, attempt: int) -> None:
    try:
        docs = await collect(node, actor_uri)
    except (FederationError, TimeoutError) as exc:
        log.info("backfill of %s failed (attempt %d): %s", actor_uri, attempt, exc)
        retry = None if isinstance(exc, ForbiddenError) else _retry_after(attempt)
        await _finish(node, following_id, retry)
        return
    async with node.sessions() as session, session.begin():
        following = await session.get(Following, following_id)
        if following is None or following.state != "accepted":
            return  # unfollowed meanwhile: keep nothing
        stored = await _store(session, docs, actor_uri)
        following.backfill_due_at = None
    log.info("backfilled %d objects of %s", stored, actor_uri)


def _retry_after(attempt: int) -> timedelta | None:
    return RETRY_AFTER[attempt - 1] if attempt <= len(RETRY_AFTER) else None


async def _finish(node: NodeContext, following_id: int, retry: timedelta | None) -> None:
    async with node.sessions() as session, session.begin():
        following = await session.get(Following, following_id)
        if following is not None:
            following.backfill_due_at = None if retry is None else datetime.now(UTC) + retry


async def _store(session: AsyncSession, docs: list[dict[str, Any]], actor_uri: str) -> int:
    stored = 0
    for doc in docs:
        try:
            async with session.begin_nested():
                if await store_object(session, doc, actor_uri) is not None:
                    stored += 1
        except FederationError as exc:  # malformed: skip it, keep the others
            log.info("backfill skipped %s: %s", id_of(doc), exc)
    return stored


# -- reading the collections ---------------------------------------------------------------


async def collect(node: NodeContext, actor_uri: str) -> list[dict[str, Any]]:
    """The actor's upcoming events and open callouts, each fetched from its origin.

    Raises ``FederationError`` only when the actor itself cannot be read.
    """
    actor = await node.directory.actor(actor_uri)
    budget, uris = Budget(), dict[str, None]()
    for name in ("upcomingEvents", "outbox"):
        source = link(actor.raw.get(name))
        if source is not None:
            await _walk(node, source, actor_uri, budget, uris)
    docs = []
    for uri in uris:
        doc = await _fetch(node, uri, budget)
        if doc is not None and _is_current(doc, actor_uri):
            docs.append(doc)
    return docs


async def _fetch(node: NodeContext, url: str, budget: Budget) -> dict[str, Any] | None:
    if budget.left() <= 0:
        return None
    try:
        async with asyncio.timeout(budget.left()):
            return await node.directory.fetch(url)
    except (FederationError, TimeoutError) as exc:
        log.info("backfill could not fetch %s: %s", url, exc)
        return None


async def _walk(
    node: NodeContext, url: str, actor_uri: str, budget: Budget, uris: dict[str, None]
) -> None:
    """Follow a collection's ``first`` and ``next`` links within the budget."""
    host, seen = url_authority(actor_uri), set[str]()
    next_url: str | None = url
    while next_url and budget.pages > 0 and budget.items > 0:
        if next_url in seen or url_authority(next_url) != host:
            return  # a loop, or a page elsewhere: stop here
        seen.add(next_url)
        budget.pages -= 1
        page = await _fetch(node, next_url, budget)
        if page is None:
            return
        next_url = _read_page(page, actor_uri, budget, uris)


def _read_page(
    page: dict[str, Any], actor_uri: str, budget: Budget, uris: dict[str, None]
) -> str | None:
    """Note the page's items; the next page's URL, if any."""
    first = page.get("first")
    if isinstance(first, dict):  # a collection with its first page embedded
        page = first
    elif first is not None and "orderedItems" not in page and "items" not in page:
        return link(first)
    items = as_list(page.get("orderedItems", page.get("items")))
    for item in items[: max(budget.items, 0)]:
        budget.items -= 1
        uri = _object_uri(item)
        if uri is not None and url_authority(uri) == url_authority(actor_uri):
            uris.setdefault(uri)
    return link(page.get("next"))


def _object_uri(item: Any) -> str | None:
    """The event or callout an item names: itself, or the object of a Create/Update."""
    if isinstance(item, str):
        return item if item.startswith(("https://", "http://")) else None
    if not isinstance(item, dict):
        return None
    kind = first_str(item.get("type"))
    if kind in _ACTIVITIES:
        return _object_uri(item.get("object"))
    uri = id_of(item)
    return uri if kind in _OBJECTS and uri is not None else None


def _is_current(doc: dict[str, Any], actor_uri: str) -> bool:
    """An event not yet ended, or an open callout, attributed to the actor only."""
    authors = [id_of(author) for author in as_list(doc.get("attributedTo"))]
    if not authors or any(author != actor_uri for author in authors):
        return False
    now = datetime.now(UTC)
    try:
        if first_str(doc.get("type")) == "Event":
            return bool(as_event_to_remote_event(doc)["ends_at"] >= now)
        if is_tocsin_callout(doc):
            values = as_question_to_remote_callout(doc)
            return bool(values["status"] == "open" and values["ends_at"] > now)
    except FederationError:
        return False
    return False
