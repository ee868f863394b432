from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.nodes import Node, asgi_node, make_settings

BASE = "http://127.0.0.1:8000"


@pytest.fixture
async def node(tmp_path: Path, migrated_database_url: str) -> AsyncIterator[Node]:
    settings = make_settings(tmp_path, migrated_database_url, base_url=BASE)
    async with asgi_node(settings) as running:
        yield running
