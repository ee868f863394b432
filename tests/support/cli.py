"""The ``tocsin`` command run in this process against a running test node.

``node.cli.main`` runs its own event loop, so it runs in a thread here, while
the test's loop keeps serving the nodes it talks to; its settings come from
the environment, as in production.
"""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from node.cli import main
from tests.support.nodes import Node


def node_env(node: Node) -> dict[str, str]:
    settings = node.settings
    return {
        "TOCSIN_BASE_URL": settings.base_url,
        "TOCSIN_LISTEN": settings.base_url.split("://", 1)[1],
        "TOCSIN_DATA_DIR": str(settings.data_dir),
        "TOCSIN_DATABASE_URL": settings.database_url,
        "TOCSIN_NODE_NAME": settings.node_name,
        "TOCSIN_ALLOW_PRIVATE_ADDRESSES": "true",
    }


async def tocsin(monkeypatch: pytest.MonkeyPatch, node: Node, *args: str) -> int:
    """``tocsin ARGS`` as ``node``'s admin would type it; its exit status."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_") and not name.startswith("TOCSIN_TEST_"):
            monkeypatch.delenv(name)
    for name, value in node_env(node).items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return await asyncio.to_thread(main, list(args))
    finally:  # main() sets the command's logging up; the test's capture comes back
        root.handlers[:] = handlers
        root.setLevel(level)
