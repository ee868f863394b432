"""Building and closing a ``NodeContext``: the same for the web app and the worker.

This is where the process is wired, in the order things happen to a received
activity: the inbox verifies it and hands it to the ``InboxRecorder``, which
commits it before the 202; then either this process's ``InboundProcessor`` is
kicked (``tocsin run``, and every process on SQLite), or the commit sends
``NOTIFY`` so that ``tocsin worker`` processes pick it up (``tocsin web`` on
PostgreSQL). The processor runs the handlers of ``node.handlers``; when a
batch is done, or a commit queues deliveries (``NotifyingSession``), the
in-process worker is woken through ``NodeContext.wake``, and workers in other
processes through the ``LISTEN`` connection (``node.wakeup``).

Every process records itself and frees the claims of its dead predecessors at
start, then keeps what it claims alive with a heartbeat (``node.leases``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from federation.cavage import HttpSigner
from federation.delivery_client import DeliveryClient
from federation.fetch import Fetcher
from federation.fetch_client import FetchClient
from federation.keys import load_private_key
from federation.netguard import make_client
from node import __version__
from node.blocks import BlockList
from node.config import Settings
from node.context import Inbound, NodeContext
from node.db import make_engine, make_sessionmaker
from node.handlers import build_router, finish_batch, handler_context, prepare_batch
from node.identity import instance_actor
from node.inbound import InboundProcessor
from node.key_claims import KeyClaims
from node.leases import Leases, keep_alive
from node.recorder import InboxRecorder
from node.remote import RemoteDirectory
from node.urls import Urls
from node.wakeup import NotifyingSession, listening


@dataclass(frozen=True)
class _Clients:
    """The outgoing side: guarded HTTP clients and the directory of remote actors."""

    http: httpx.AsyncClient  # move notices (node.move_notice), under the address guard
    fetch_http: FetchClient  # fetches (aiohttp), under the same guard
    delivery_http: DeliveryClient  # deliveries (aiohttp), under the same guard
    blocks: BlockList
    directory: RemoteDirectory

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.fetch_http.aclose()
        await self.delivery_http.aclose()
        await self.directory.aclose()


async def _clients(
    settings: Settings, urls: Urls, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> _Clients:
    async with sessions() as session:
        signer = await instance_actor(session)
    fetch_signer = HttpSigner(
        urls.key_id(urls.instance_actor), load_private_key(signer.private_key_pem)
    )
    user_agent = f"Tocsin/{__version__} (+{settings.base_url}/)"
    allow_private = settings.allow_private_addresses
    http = make_client(allow_private=allow_private, user_agent=user_agent)
    fetch_http = FetchClient(allow_private=allow_private, user_agent=user_agent)
    blocks = BlockList(sessions, own_host=settings.host)
    directory = RemoteDirectory(
        sessions,
        Fetcher(fetch_http, signer=fetch_signer),
        blocks,
        KeyClaims(engine, sessions),
        scheme="http" if settings.base_url.startswith("http://") else "https",
    )
    delivery_http = DeliveryClient(allow_private=allow_private, user_agent=user_agent)
    return _Clients(http, fetch_http, delivery_http, blocks, directory)


def _inbox_pipeline(
    sessions: async_sessionmaker[AsyncSession],
    node: Callable[[], NodeContext],
    *,
    wake: Callable[[], None],
    leases: Leases,
    sqlite: bool,
    process_inbox: bool,
) -> tuple[InboundProcessor[Inbound], InboxRecorder]:
    """The processor of received activities, with the router of ``node.handlers``,
    and the recorder the inbox hands verified activities to: it kicks this
    process's processor, or (``tocsin web`` on PostgreSQL) notifies the workers."""
    inbound = InboundProcessor(
        sessions,
        build_router(),
        lambda session: handler_context(node(), session),
        shared_transactions=not sqlite,
        before_commit=lambda session: finish_batch(node(), session),
        prepare=prepare_batch,
        on_processed=wake,  # handlers may have queued deliveries
        leases=leases,
    )
    if process_inbox or sqlite:
        return inbound, InboxRecorder(sessions, on_recorded=inbound.kick)
    return inbound, InboxRecorder(sessions, notify_workers=True)


@asynccontextmanager
async def node_context(
    settings: Settings, *, process_inbox: bool = True
) -> AsyncIterator[NodeContext]:
    """``process_inbox=False``: what the inbox records is processed by workers
    (other processes, woken through PostgreSQL), not in this one. SQLite has
    no other process to leave it to, so there this process always processes."""
    urls = Urls(settings.base_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    sessions.configure(sync_session_class=NotifyingSession)  # commits of deliveries wake workers
    clients = await _clients(settings, urls, engine, sessions)
    sqlite = engine.dialect.name == "sqlite"
    work_available = asyncio.Event()
    leases = Leases()
    await leases.start(sessions)

    inbound, recorder = _inbox_pipeline(
        sessions,
        lambda: context,  # bound below, before any activity is recorded
        wake=work_available.set,
        leases=leases,
        sqlite=sqlite,
        process_inbox=process_inbox,
    )
    context = NodeContext(
        settings,
        urls,
        engine,
        sessions,
        clients.http,
        clients.fetch_http,
        clients.blocks,
        clients.directory,
        clients.delivery_http,
        recorder=recorder,
        inbound=inbound,
        work_available=work_available,
        leases=leases,
    )
    heartbeat = asyncio.create_task(keep_alive(sessions, leases), name="lease-heartbeat")
    try:
        async with listening(engine, context.wake):
            yield context
    finally:
        await context.stop_background()
        heartbeat.cancel()
        await leases.stop(sessions)
        await clients.aclose()
        await engine.dispose()
