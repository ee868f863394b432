"""The admin dashboard."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.web.admin.session import render, require


@require("editor")
async def dashboard(request: Request) -> Response:
    return render(request, "admin/dashboard.html")


routes = [Route("/admin", dashboard)]
