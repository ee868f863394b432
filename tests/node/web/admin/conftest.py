from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.admin import logged_in
from tests.support.nodes import Node


@pytest.fixture
async def editor(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in editor: these pages are for editors as much as admins."""
    async with logged_in(node, "rosa", "editor") as client:
        yield client
