"""``create_app(settings)`` builds the ASGI app; nothing happens at import time.

The engine and the HTTP client are made in the lifespan and handed to routes
through ``app.state.ctx``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response

from node.config import Settings
from node.context import NodeContext
from node.i18n import gettext as _
from node.runtime import node_context
from node.web import (
    activitypub,
    alerts,
    inbox,
    objects,
    public,
    public_feeds,
    respond,
    wellknown,
)
from node.web.admin import routes as admin_routes
from node.web.admin.throttle import LoginThrottle
from node.web.language import LanguageMiddleware
from node.web.limits import BodyLimitMiddleware
from node.web.public import templates
from node.web.remote_follow import LookupGate
from node.web.responses import json_error, wants_activity_json
from node.web.security import SecurityHeadersMiddleware

log = logging.getLogger(__name__)

BackgroundTask = Callable[[NodeContext], Coroutine[Any, Any, None]]
SESSION_SECONDS = 12 * 3600


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not wants_activity_json(request)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: _("There is nothing at this address."),
        405: _("That method is not allowed here."),
    }
    message = exc.detail if exc.detail and exc.status_code not in messages else ""
    message = message or messages.get(exc.status_code, _("The request could not be handled."))
    if _wants_html(request):
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "status_code": exc.status_code,
                "title": _("Not found")
                if exc.status_code == 404
                else _("Something is wrong with the request"),
                "message": message,
            },
            status_code=exc.status_code,
            headers=exc.headers,
        )
    return json_error(exc.status_code, message, headers=exc.headers)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """503 with ``Retry-After`` while the database cannot be reached, and one log line.

    The node recovers by itself: the pool drops the dead connections and the next
    request opens new ones. Any other database error is a bug, and left to be one.
    """
    if isinstance(exc, DBAPIError) and not (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    ):
        raise exc
    log.warning(
        "%s %s: database unavailable (%s)", request.method, request.url.path, type(exc).__name__
    )
    return json_error(
        503, _("the server is briefly unavailable; try again later"), {"Retry-After": "30"}
    )


ROUTES = [
    *wellknown.routes,
    *activitypub.routes,
    *inbox.routes,
    *public_feeds.item_routes,  # /events/N.ics before the pages at /events/{id}
    *objects.routes,
    *public.routes,
    *alerts.routes,
    *respond.routes,
    *admin_routes.routes,
]


def _middleware(settings: Settings) -> list[Middleware]:
    return [
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware),
        Middleware(LanguageMiddleware, default=settings.language, secure=settings.https),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="tocsin_session",
            max_age=SESSION_SECONDS,
            same_site="lax",
            https_only=settings.https,
        ),
    ]


def create_app(
    settings: Settings,
    *,
    background: list[BackgroundTask] | None = None,
    process_inbox: bool = True,
) -> Starlette:
    """The node's ASGI app. ``background`` tasks (the worker) run for the app's lifetime.

    ``process_inbox=False`` leaves received activities to ``tocsin worker``
    processes on PostgreSQL (on SQLite this process processes them anyway).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with node_context(settings, process_inbox=process_inbox) as context:
            app.state.ctx = context
            tasks = [asyncio.create_task(task(context)) for task in background or []]
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app = Starlette(
        routes=ROUTES,
        middleware=_middleware(settings),
        exception_handlers={
            HTTPException: http_error,
            OSError: database_unavailable,  # connecting to it: refused, reset, timed out
            DBAPIError: database_unavailable,
        },
        lifespan=lifespan,
    )
    app.state.login_throttle = LoginThrottle()
    app.state.follow_lookups = LookupGate()
    return app
