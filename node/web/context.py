"""The process's ``NodeContext`` as a route sees it (``app.state.ctx``)."""

from __future__ import annotations

from starlette.requests import Request

from node.context import NodeContext


def ctx(request: Request) -> NodeContext:
    context: NodeContext = request.app.state.ctx
    return context
