"""Remote actors and their keys: fetched from their origin, cached, refreshed.

``RemoteDirectory`` is also the inbox's ``KeyLookup``: it turns a signature's
keyId into a public key, fetching the key's document (an actor, or a bare key
document GoToSocial-style) through the safe fetcher, and refetches at most
once per host every few minutes when a signature fails (key rotation).
Requests signed with the same key while it is being fetched share that one
fetch (and its one parse of the document), whatever their number.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.actors import Actor, parse_actor, parse_public_key
from federation.errors import (
    FederationError,
    ForbiddenError,
    KeyUnavailableError,
    SignatureError,
)
from federation.fetch import Fetcher
from federation.hosts import url_authority
from federation.keys import load_public_key
from federation.signed import PublicKeyInfo
from federation.webfinger import parse_handle, resolve_handle
from node.blocks import BlockList
from node.key_claims import KeyClaims
from node.models import RemoteActor, RemoteKey
from node.remote_store import upsert_actor

log = logging.getLogger(__name__)

REFRESH_COOLDOWN = 300.0  # seconds between forced key refetches per remote host
ACTOR_MAX_AGE = timedelta(days=1)
KEY_MEMORY_SECONDS = 600.0
KEY_MEMORY_SIZE = 10_000
KEY_FAILURE_SECONDS = 300.0  # a key that could not be fetched is not asked for again before
KEY_FAILURE_SIZE = 10_000
KEY_FETCHES_PER_HOST = 2  # one slow or hostile server holds at most this many inbox requests
KEY_FETCH_HOSTS = 1_000  # hosts with key fetches in flight at once; beyond, refused


class KeyFailures:
    """Key ids whose fetch failed a moment ago, and why: refused again without a request.

    Bounded: when full, forgotten entries go first, then all of them.
    """

    def __init__(self) -> None:
        self._failed: dict[str, tuple[float, SignatureError]] = {}

    def note(self, key_id: str, error: SignatureError) -> None:
        if len(self._failed) >= KEY_FAILURE_SIZE:
            now = time.monotonic()
            self._failed = {
                k: v for k, v in self._failed.items() if now - v[0] < KEY_FAILURE_SECONDS
            }
            if len(self._failed) >= KEY_FAILURE_SIZE:
                self._failed.clear()
        self._failed[key_id] = (time.monotonic(), error)

    def check(self, key_id: str) -> None:
        """Raise again the error of a recent failure to fetch ``key_id``."""
        failed = self._failed.get(key_id)
        if failed is None:
            return
        if time.monotonic() - failed[0] >= KEY_FAILURE_SECONDS:
            del self._failed[key_id]
            return
        error = failed[1]
        raise type(error)(f"{key_id} failed recently: {error}", public_message=error.public_message)


class HostGates:
    """At most ``KEY_FETCHES_PER_HOST`` key fetches at once to any one host.

    A host's semaphore lives only while requests use it, so the dict holds only
    hosts with fetches in flight, and at most ``KEY_FETCH_HOSTS`` of them.
    """

    def __init__(self) -> None:
        self._gates: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        if host not in self._gates and len(self._gates) >= KEY_FETCH_HOSTS:
            raise KeyUnavailableError(f"key fetches to {KEY_FETCH_HOSTS} hosts already in flight")
        gate, users = self._gates.setdefault(host, (asyncio.Semaphore(KEY_FETCHES_PER_HOST), [0]))
        users[0] += 1
        try:
            async with gate:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._gates[host]


class RemoteDirectory:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        blocks: BlockList,
        claims: KeyClaims,
        *,
        scheme: str = "https",
    ) -> None:
        self._sessions = sessions
        self._claims = claims
        self._fetcher = fetcher
        self._blocks = blocks
        self._scheme = scheme
        self._last_refresh: dict[str, float] = {}
        self._keys: dict[str, tuple[float, PublicKeyInfo]] = {}
        self._failures = KeyFailures()
        self._gates = HostGates()
        # key id -> its fetch in flight: requests signed with the same unknown key
        # arriving together share one fetch of its document
        self._fetching: dict[str, asyncio.Future[PublicKeyInfo]] = {}

    async def aclose(self) -> None:
        await self._claims.aclose()

    # -- actors -------------------------------------------------------------------------

    async def fetch(self, url: str) -> dict[str, Any]:
        """Fetch a remote object from its origin (never from a blocked server, nor
        from an unlisted one in allow-list-only mode)."""
        await self._check_host(url_authority(url))
        return await self._fetcher.fetch_object(url)

    async def _check_host(self, host: str) -> None:
        """Refuse a blocked server, and in allow-list-only mode an unlisted one."""
        if await self._blocks.is_blocked(host):
            raise ForbiddenError(f"{host} is blocked", public_message="blocked")
        if not await self._blocks.allowlist.permits(host, self._blocks.own_host):
            raise ForbiddenError(f"{host} is not on the allow list", public_message="not allowed")

    async def fetch_actor(self, uri: str, session: AsyncSession | None = None) -> RemoteActor:
        """Fetch an actor from its origin and store it, replacing any cached copy
        (in ``session``'s transaction when given)."""
        parsed = parse_actor(await self.fetch(uri))
        if parsed.id != uri:
            raise ForbiddenError("actor id does not match its URL")
        return await self.store_actor(parsed, session)

    async def actor(
        self,
        uri: str,
        *,
        max_age: timedelta = ACTOR_MAX_AGE,
        session: AsyncSession | None = None,
    ) -> RemoteActor:
        """The cached actor, fetched when unknown or older than ``max_age``.

        Handlers pass their ``session``: what is read and stored then belongs to
        their transaction, which a second connection might otherwise wait on.
        """
        lookup = select(RemoteActor).where(RemoteActor.uri == uri)
        if session is not None:
            cached = await session.scalar(lookup)
        else:
            async with self._sessions() as own:
                cached = await own.scalar(lookup)
        if cached is not None and datetime.now(UTC) - cached.fetched_at < max_age:
            return cached
        try:
            return await self.fetch_actor(uri, session)
        except FederationError:
            if cached is None:
                raise
            log.info("could not refresh %s; using the cached copy", uri)
            return cached

    async def actor_by_handle(self, handle: str) -> RemoteActor:
        """Resolve ``@name@host`` through WebFinger and fetch the actor it names."""
        await self._check_host(parse_handle(handle)[1])  # no WebFinger query either
        url = await resolve_handle(self._fetcher, handle, scheme=self._scheme)
        return await self.fetch_actor(url)

    async def store_actor(self, parsed: Actor, session: AsyncSession | None = None) -> RemoteActor:
        """Insert or update the cached actor (and its key) from a parsed document.

        With ``session`` the change joins the caller's transaction (and commit).
        """
        if session is not None:
            return await upsert_actor(session, parsed)
        async with self._sessions() as own, own.begin():
            return await upsert_actor(own, parsed)

    async def forget_actor(self, uri: str, session: AsyncSession) -> bool:
        """Remove a deleted actor: its follows both ways go with it (cascade)."""
        for key_id, (_, info) in list(self._keys.items()):
            if info.owner == uri:
                del self._keys[key_id]
        result = await session.execute(delete(RemoteActor).where(RemoteActor.uri == uri))
        await session.execute(delete(RemoteKey).where(RemoteKey.owner_uri == uri))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- keys (the inbox's KeyLookup) -----------------------------------------------------

    async def __call__(self, key_id: str, *, refresh: bool) -> PublicKeyInfo:
        pending = self._fetching.get(key_id)
        if pending is not None:  # being fetched: that answer is the freshest there is
            return await asyncio.shield(pending)
        refetch = refresh and self._may_refresh(key_id)
        if not refetch:
            remembered = self._remembered(key_id)
            if remembered is not None:
                return remembered
        self._failures.check(key_id)
        # the first to ask reads or fetches; whoever asks meanwhile waits for it
        pending = asyncio.ensure_future(self._resolve(key_id, refetch=refetch, refresh=refresh))
        self._fetching[key_id] = pending
        pending.add_done_callback(lambda done: self._fetched(key_id, done))
        # shielded: a caller that goes away (its client hung up) leaves the fetch to the others
        return await asyncio.shield(pending)

    def _fetched(self, key_id: str, done: asyncio.Future[PublicKeyInfo]) -> None:
        if self._fetching.get(key_id) is done:
            del self._fetching[key_id]
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have gone

    async def _resolve(self, key_id: str, *, refetch: bool, refresh: bool) -> PublicKeyInfo:
        """The stored key, else (or when ``refetch``) the key fetched from its origin;
        claimed across the node's processes, so only one of them fetches it."""
        async with self._claims.hold(key_id):
            if not refetch:
                stored = await self._claims.stored(key_id)
                if stored is not None:
                    owner, pem = stored
                    return self._remember(PublicKeyInfo(key_id, owner, load_public_key(pem)))
                if refresh:
                    raise SignatureError("key refetch is rate-limited; try again later")
            async with self._gates.hold(url_authority(key_id)):
                self._failures.check(key_id)  # it may have failed while we waited
                return await self._fetch_and_remember(key_id)

    def _remembered(self, key_id: str) -> PublicKeyInfo | None:
        remembered = self._keys.get(key_id)
        if remembered is not None and time.monotonic() - remembered[0] < KEY_MEMORY_SECONDS:
            return remembered[1]
        return None

    async def _fetch_and_remember(self, key_id: str) -> PublicKeyInfo:
        try:
            return self._remember(await self._fetch_key(key_id))
        except ForbiddenError:
            raise  # a blocked or unlisted server: refused without any request
        except SignatureError as exc:  # a refused key or actor says why (401)
            self._failures.note(key_id, exc)
            raise
        except FederationError as exc:
            log.info("could not fetch key %s: %s", key_id, exc)
            failure = KeyUnavailableError(
                f"could not fetch key {key_id}: {exc}",
                public_message="could not fetch the signing key",
            )
            self._failures.note(key_id, failure)
            raise failure from exc

    def _remember(self, info: PublicKeyInfo) -> PublicKeyInfo:
        """Keep parsed keys in memory for a while: most inbox POSTs come from
        actors seen a moment ago, and a DB read plus PEM parse per request adds up."""
        if len(self._keys) >= KEY_MEMORY_SIZE:
            self._keys.clear()
        self._keys[info.key_id] = (time.monotonic(), info)
        return info

    def _may_refresh(self, key_id: str) -> bool:
        host = url_authority(key_id)
        now = time.monotonic()
        if now - self._last_refresh.get(host, float("-inf")) < REFRESH_COOLDOWN:
            return False
        self._last_refresh[host] = now
        return True

    async def _fetch_key(self, key_id: str) -> PublicKeyInfo:
        document_url = key_id.split("#", 1)[0]
        doc = await self.fetch(document_url)
        key = parse_public_key(doc, key_id)
        if doc.get("id") == key.owner:
            owner = parse_actor(doc)
        else:  # a separate key document: the owner must list this key as its own
            owner = parse_actor(await self.fetch(key.owner))
            if owner.public_key_id != key_id:
                raise SignatureError("the key's owner does not list this key")
        public = load_public_key(key.pem)  # refuse to cache a key we cannot use
        await self._claims.store(owner, key_id, key.pem)
        return PublicKeyInfo(key_id, owner.id, public)
