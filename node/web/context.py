"""What every request handler needs, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from node.config import Settings
from node.urls import Urls


@dataclass
class NodeContext:
    settings: Settings
    urls: Urls
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient


def ctx(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.ctx
    return context
