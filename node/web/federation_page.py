"""The public ``/federation`` page: the networks this node follows, so that a
visitor of any node finds their own local network from it. On unless an admin
turns it off (``federation_page`` in ``node.settings_store``); then 404."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content.changes import Counters
from node.i18n import gettext as _
from node.networks import followed_networks
from node.settings_store import get_setting
from node.web.context import ctx
from node.web.pagecache import Rendered, serve
from node.web.site import render_page, site_of


async def federation(request: Request) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        shown = bool(await get_setting(session, "federation_page"))
    if not shown:  # node_settings raise no counter: checked before the cache
        raise HTTPException(404, _("This network does not list the networks it follows."))

    async def render(_: Counters | None) -> Rendered:
        async with context.sessions() as session:
            site = await site_of(session, context)
            networks = await followed_networks(session)
        values = {"site": site, "nav": "/federation", "networks": networks}
        return render_page("federation_public.html", values)

    return await serve(request, "federation", render)


routes = [Route("/federation", federation)]
