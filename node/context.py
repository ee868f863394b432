"""What the domain, the web routes and the worker share, built once per process.

``node.runtime.node_context`` builds it (and says what is wired to what);
nothing here creates anything by itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from federation.delivery_client import DeliveryClient
from federation.fetch_client import FetchClient
from node.blocks import BlockList
from node.config import Settings
from node.inbound import InboundProcessor
from node.leases import Leases
from node.recorder import InboxRecorder
from node.remote import RemoteDirectory
from node.urls import Urls


@dataclass
class NodeContext:
    settings: Settings
    urls: Urls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient  # move notices; guarded: refuses private addresses unless allowed
    fetch_http: FetchClient  # aiohttp for fetches (federation.fetch.Fetcher), same guard
    blocks: BlockList
    directory: RemoteDirectory
    delivery_http: DeliveryClient  # aiohttp for deliveries, under the same guard
    recorder: InboxRecorder  # stores what the inbox verified, before its 202
    inbound: InboundProcessor[Inbound]  # processes what was recorded (this process's share)
    work_available: asyncio.Event = field(default_factory=asyncio.Event)
    leases: Leases = field(default_factory=Leases)  # what this process holds (node.leases)

    def wake(self) -> None:
        """Tell an in-process worker that new work was committed."""
        self.work_available.set()

    async def stop_background(self) -> None:
        """Stop this process's recorder and processor (what they hold is leased, not lost)."""
        await self.recorder.aclose()
        await self.inbound.aclose()


@dataclass(frozen=True)
class Inbound:
    """What an activity handler gets besides the activity: the node, and the
    transaction to write through (the one that marks the activity processed)."""

    node: NodeContext
    session: AsyncSession
