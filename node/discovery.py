"""Networks near yours: the nodes followed by the nodes this one follows.

Two hops through the follow graph, read from each followed actor's public
``following`` collection (no central index). A collection that shows only its
size (a hidden network: ``totalItems`` and no pages) is respected: nothing is
read from it. Bounded: ``MAX_FOLLOWED`` followed actors, ``MAX_PAGES`` pages of
``MAX_ITEMS_PER_PAGE`` items each, at most ``MAX_CANDIDATES`` candidates
fetched (through ``RemoteDirectory.actor``, so cached and checked like any
actor), ``CONCURRENCY`` fetches at a time.

The result is cached in the database (``node_settings``, key ``discovery``)
for ``CACHE_FOR``: the admin page runs in the web process and ``tocsin
discover`` in a process of its own, so a cache in memory would not be shared,
and an hour-old suggestion list is fresh enough. Networks followed since are
left out when the cache is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.as2 import as_list, id_of, link
from federation.errors import FederationError
from federation.hosts import url_authority
from node.context import NodeContext
from node.identity import group_actor
from node.models import Following, RemoteActor
from node.networks import Network, network_of
from node.settings_store import get_setting, set_setting

log = logging.getLogger(__name__)

MAX_FOLLOWED = 50
MAX_PAGES = 2
MAX_ITEMS_PER_PAGE = 100
MAX_CANDIDATES = 30
CONCURRENCY = 4
CACHE_FOR = timedelta(hours=1)
CACHE_KEY = "discovery"

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Candidate:
    network: Network
    followed_by: int  # how many of the networks this node follows follow it


async def discover(node: NodeContext, *, refresh: bool = False) -> list[Candidate]:
    """Candidates by how many followed networks follow them (cached ``CACHE_FOR``)."""
    now = datetime.now(UTC)
    async with node.sessions() as session:
        cached = await get_setting(session, CACHE_KEY)
        own, followed = await _own_and_followed(node, session)
    found = _cached(cached, now) if not refresh else None
    if found is None:
        found = await _search(node, own, followed)
        async with node.sessions() as session, session.begin():
            value = {"at": now.isoformat(), "candidates": [_candidate_to(c) for c in found]}
            await set_setting(session, CACHE_KEY, value)
    return [c for c in found if c.network.uri not in followed and c.network.uri != own]


def _cached(cached: Any, now: datetime) -> list[Candidate] | None:
    """The cached candidates while fresh; None when stale, absent or unreadable."""
    try:
        if now - datetime.fromisoformat(str(cached["at"])) >= CACHE_FOR:
            return None
        return [_candidate_from(dict(value)) for value in cached["candidates"]]
    except (KeyError, TypeError, ValueError):
        return None


async def _own_and_followed(node: NodeContext, session: AsyncSession) -> tuple[str, dict[str, str]]:
    """Our actor id, and every actor we follow or asked to (uri → state), oldest first."""
    local = await group_actor(session)
    rows = await session.execute(
        select(RemoteActor.uri, Following.state)
        .join(Following, Following.remote_actor_id == RemoteActor.id)
        .where(Following.local_actor_id == local.id)
        .order_by(Following.id)
    )
    return node.urls.actor(local.username), {uri: state for uri, state in rows.all()}


async def _search(node: NodeContext, own: str, followed: dict[str, str]) -> list[Candidate]:
    sources = [uri for uri, state in followed.items() if state == "accepted"][:MAX_FOLLOWED]
    lists = await _bounded(sources, lambda uri: _following_of(node, uri))
    counts: Counter[str] = Counter()
    for found in lists:
        counts.update(set(found) - {own, *followed})
    ranked = [uri for uri, _ in counts.most_common(MAX_CANDIDATES)]
    actors = await _bounded(ranked, lambda uri: _actor(node, uri))
    candidates = [
        Candidate(network_of(actor), counts[actor.uri]) for actor in actors if actor is not None
    ]
    return sorted(candidates, key=lambda c: (-c.followed_by, c.network.name.lower()))


async def _bounded(items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    """``work`` on every item, ``CONCURRENCY`` at a time, results in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> R:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def _actor(node: NodeContext, uri: str) -> RemoteActor | None:
    try:
        return await node.directory.actor(uri)
    except FederationError as exc:
        log.info("discovery could not read %s: %s", uri, exc)
        return None


async def _following_of(node: NodeContext, actor_uri: str) -> list[str]:
    """The actors in ``actor_uri``'s public ``following`` (first pages), or none."""
    try:
        actor = await node.directory.actor(actor_uri)
        url = link(actor.raw.get("following"))
        if url is None or url_authority(url) != url_authority(actor_uri):
            return []
        collection = await node.directory.fetch(url)
        found: list[str] = []
        page: Any = collection.get("first")
        if isinstance(collection.get("orderedItems", collection.get("items")), list):
            page = collection  # the items are on the collection itself
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if isinstance(page, str):
                if page in seen or url_authority(page) != url_authority(actor_uri):
                    break
                seen.add(page)
                page = await node.directory.fetch(page)
            if not isinstance(page, dict):
                break  # hidden (totalItems only), or junk
            found += _actor_ids(page)
            page = page.get("next")
        return found
    except FederationError as exc:
        log.info("discovery could not read who %s follows: %s", actor_uri, exc)
        return []


def _actor_ids(page: dict[str, Any]) -> list[str]:
    items = as_list(page.get("orderedItems", page.get("items")))[:MAX_ITEMS_PER_PAGE]
    ids = (id_of(item) for item in items)
    return [uri for uri in ids if uri is not None and uri.startswith(("https://", "http://"))]


def _candidate_to(candidate: Candidate) -> dict[str, Any]:
    return {**asdict(candidate.network), "followed_by": candidate.followed_by}


def _candidate_from(value: dict[str, Any]) -> Candidate:
    count = int(value.pop("followed_by", 0))
    return Candidate(Network(**value), count)
