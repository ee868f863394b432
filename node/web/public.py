"""The public web pages (the UI issue grows these)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from node.identity import group_actor
from node.web.context import ctx

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


async def render_home(request: Request, status_code: int = 200) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        actor = await group_actor(session)
    return templates.TemplateResponse(
        request,
        "home.html",
        {
            "actor": actor,
            "handle": f"@{actor.username}@{context.settings.host}",
            "actor_url": context.urls.actor(actor.username),
        },
        status_code=status_code,
    )


async def home(request: Request) -> Response:
    return await render_home(request)


routes = [Route("/", home)]
