"""Building and closing a ``NodeContext``: the same for the web app and the worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from federation.cavage import HttpSignatureAuth
from federation.delivery_client import DeliveryClient
from federation.fetch import Fetcher
from federation.keys import load_private_key
from federation.netguard import make_client
from node import __version__
from node.blocks import BlockList
from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.identity import instance_actor
from node.remote import RemoteDirectory
from node.urls import Urls
from node.wakeup import NotifyingSession, listening
from node.web.context import NodeContext


@asynccontextmanager
async def node_context(
    settings: Settings, *, process_inbox: bool = True
) -> AsyncIterator[NodeContext]:
    """``process_inbox=False``: what the inbox records is processed by workers
    (other processes, woken through PostgreSQL), not in this one."""
    urls = Urls(settings.base_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    sessions.configure(sync_session_class=NotifyingSession)  # commits of deliveries wake workers
    async with sessions() as session:
        signer = await instance_actor(session)
    fetch_auth = HttpSignatureAuth(
        urls.key_id(urls.instance_actor), load_private_key(signer.private_key_pem)
    )
    user_agent = f"Tocsin/{__version__} (+{settings.base_url}/)"
    http = make_client(allow_private=settings.allow_private_addresses, user_agent=user_agent)
    delivery_http = DeliveryClient(
        allow_private=settings.allow_private_addresses, user_agent=user_agent
    )
    blocks = BlockList(sessions, own_host=settings.host)
    directory = RemoteDirectory(
        sessions,
        Fetcher(http, auth=fetch_auth),
        blocks,
        scheme="http" if settings.base_url.startswith("http://") else "https",
    )
    context = NodeContext(
        settings,
        urls,
        engine,
        sessions,
        http,
        blocks,
        directory,
        delivery_http,
        process_inbox=process_inbox or engine.dialect.name != "postgresql",
    )
    try:
        async with listening(engine, context.wake):
            yield context
    finally:
        await context.stop_background()
        await http.aclose()
        await delivery_http.aclose()
        await engine.dispose()
