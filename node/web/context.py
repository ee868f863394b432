"""What every request handler and the worker need, built once per process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from node.config import Settings
from node.urls import Urls

if TYPE_CHECKING:
    from federation.delivery_client import DeliveryClient
    from node.blocks import BlockList
    from node.inbound import InboundProcessor
    from node.recorder import InboxRecorder
    from node.remote import RemoteDirectory


@dataclass
class NodeContext:
    settings: Settings
    urls: Urls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient  # guarded: refuses private addresses unless allowed
    blocks: BlockList
    directory: RemoteDirectory
    delivery_http: DeliveryClient  # aiohttp for deliveries, under the same guard
    work_available: asyncio.Event = field(default_factory=asyncio.Event)
    # False in `tocsin web` on PostgreSQL: received activities are left to the workers
    process_inbox: bool = True
    _inbound: InboundProcessor | None = field(default=None, init=False, repr=False)
    _recorder: InboxRecorder | None = field(default=None, init=False, repr=False)

    def wake(self) -> None:
        """Tell an in-process worker that new work was committed."""
        self.work_available.set()

    @property
    def inbound(self) -> InboundProcessor:
        """This process's processor of received activities (the inbox kicks it)."""
        if self._inbound is None:
            from node.inbound import InboundProcessor

            self._inbound = InboundProcessor(self)
        return self._inbound

    @property
    def recorder(self) -> InboxRecorder:
        """This process's group-committing writer of received activities."""
        if self._recorder is None:
            from node.recorder import InboxRecorder

            if self.process_inbox:
                self._recorder = InboxRecorder(self.sessions, on_recorded=self.inbound.kick)
            else:  # the workers process what this web process records
                self._recorder = InboxRecorder(self.sessions, notify_workers=True)
        return self._recorder

    async def stop_background(self) -> None:
        """Stop this process's recorder and processor (what they hold is leased, not lost)."""
        if self._recorder is not None:
            await self._recorder.aclose()
        if self._inbound is not None:
            await self._inbound.aclose()


def ctx(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.ctx
    return context
