"""Rendered public responses, kept in memory while the database says nothing changed.

A kept response is served only when (1) the change counters read for *this*
request (``ChangeWatch.read``: read after the request arrived, so they reflect
every commit before it, by any process) equal the ones it was rendered under,
and (2) time alone has not changed it (``expires``: the first shown event to end
or callout to expire; at most ``MAX_AGE`` in any case). Rendering reads the
counters first and the data after, so a kept response is never older than its
counters: an edit shows on the very next request, in every process.

One render per key and version runs at a time; requests that miss meanwhile
wait for it instead of rendering the same thing again. Kept bytes are capped
(least recently used go first). Every response carries an ETag of its bytes and
answers a matching ``If-None-Match`` with 304. Pages are kept per language (the
request's, chosen by ``node.web.language``): each language is its own page.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from node import i18n
from node.content.changes import ChangeWatch, Counters
from node.web.context import ctx

MAX_AGE = timedelta(hours=1)
BUDGET = 64 * 1024 * 1024  # bytes of kept bodies per process
VALIDATORS = ("etag", "cache-control", "vary", "last-modified", "expires")


@dataclass(frozen=True)
class Rendered:
    """A response's bytes and headers, and until when time leaves it unchanged."""

    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    expires: datetime | None = None
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "etag", f'"{hashlib.sha256(self.body).hexdigest()[:32]}"')


def etag_matches(header: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def respond(request: Request, rendered: Rendered) -> Response:
    """The response, or 304 when the client already holds these exact bytes."""
    headers = {**rendered.headers, "ETag": rendered.etag}
    if rendered.status_code == 200 and etag_matches(
        request.headers.get("if-none-match", ""), rendered.etag
    ):
        kept = {k: v for k, v in headers.items() if k.lower() in VALIDATORS}
        return Response(status_code=304, headers=kept)
    return Response(
        rendered.body,
        status_code=rendered.status_code,
        headers=headers,
        media_type=rendered.media_type,
    )


def earliest(moments: list[datetime], now: datetime) -> datetime | None:
    """The first of ``moments`` still to come: when a page showing them changes by itself."""
    return min((moment for moment in moments if moment >= now), default=None)


@dataclass
class _Kept:
    version: int
    until: datetime
    rendered: Rendered


@dataclass
class _Flight:
    version: int
    task: asyncio.Task[Rendered]


class PageCache:
    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self.size = 0
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}

    def __len__(self) -> int:
        return len(self._kept)

    async def get(
        self, key: Hashable, version: int, render: Callable[[], Awaitable[Rendered]]
    ) -> Rendered:
        """What ``render`` gives under ``version``: kept, being made, or made now."""
        kept = self._kept.get(key)
        if kept is not None and kept.version == version and datetime.now(UTC) < kept.until:
            self._kept.move_to_end(key)
            return kept.rendered
        flight = self._flights.get(key)
        if flight is None or flight.version != version:
            flight = _Flight(version, asyncio.create_task(self._make(key, version, render)))
            self._flights[key] = flight
        return await asyncio.shield(flight.task)

    async def _make(
        self, key: Hashable, version: int, render: Callable[[], Awaitable[Rendered]]
    ) -> Rendered:
        started = datetime.now(UTC)
        try:
            rendered = await render()
        finally:
            flight = self._flights.get(key)
            if flight is not None and flight.version == version:
                del self._flights[key]
        until = min(rendered.expires or started + MAX_AGE, started + MAX_AGE)
        self._keep(key, _Kept(version, until, rendered))
        return rendered

    def _keep(self, key: Hashable, kept: _Kept) -> None:
        old = self._kept.pop(key, None)
        if old is not None and old.version > kept.version:
            kept = old  # a newer render finished first: keep that one
        self.size += len(kept.rendered.body) - (len(old.rendered.body) if old else 0)
        self._kept[key] = kept
        while self.size > self.budget and self._kept:
            _, dropped = self._kept.popitem(last=False)
            self.size -= len(dropped.rendered.body)


class PublicReads:
    """One process's change watch and kept responses, for one database."""

    def __init__(self, watch: ChangeWatch) -> None:
        self.watch = watch
        self.pages = PageCache()


def public_reads(request: Request) -> PublicReads:
    engine = ctx(request).engine
    reads: PublicReads | None = getattr(request.app.state, "public_reads", None)
    if reads is None or reads.watch.engine is not engine:
        reads = PublicReads(ChangeWatch(engine))
        request.app.state.public_reads = reads
    return reads


Render = Callable[[Counters | None], Awaitable[Rendered]]


async def serve(
    request: Request, key: Hashable, render: Render, *, actors: bool = False, max_lag: float = 0
) -> Response:
    """``render``'s response, kept until the content (or, with ``actors``, only this
    node's own actors) changes. ``render`` gets the counters it is made under.

    ``max_lag`` lets a response be up to that many seconds behind a change (only
    for documents whose readers are told they may cache them longer anyway)."""
    reads = public_reads(request)
    counters = await reads.watch.read(max_lag)
    if counters is None:  # no counters in this database: render every time
        return respond(request, await render(None))
    version = counters.actors if actors else counters.content
    # Keyed by language too: a page rendered in English is never served to a Welsh reader.
    cache_key = (actors, key, i18n.current_language())
    rendered = await reads.pages.get(cache_key, version, lambda: render(counters))
    return respond(request, rendered)
