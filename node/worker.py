"""The background worker: processes received activities and sends deliveries."""

from __future__ import annotations

import asyncio
import logging

from node.config import Settings
from node.web.context import NodeContext

log = logging.getLogger(__name__)
IDLE_SLEEP = 1.0


async def run_once(context: NodeContext) -> int:
    """One pass over due work; returns how many items it handled."""
    return 0


async def run_worker(context: NodeContext) -> None:
    while True:
        try:
            handled = await run_once(context)
        except Exception:
            log.exception("worker pass failed; retrying")
            handled = 0
        if not handled:
            await asyncio.sleep(IDLE_SLEEP)


async def run_standalone_worker(settings: Settings) -> None:
    from node.app import make_http_client
    from node.db import make_engine, make_sessionmaker
    from node.urls import Urls

    engine = make_engine(settings.database_url)
    http = make_http_client(settings)
    context = NodeContext(
        settings, Urls(settings.base_url), engine, make_sessionmaker(engine), http
    )
    try:
        await run_worker(context)
    finally:
        await http.aclose()
        await engine.dispose()
