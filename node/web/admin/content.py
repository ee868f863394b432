"""Admin pages (being written)."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
