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
    from node.blocks import BlockList
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
    work_available: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Tell an in-process worker that new work was committed."""
        self.work_available.set()


def ctx(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.ctx
    return context
