"""Discovery: WebFinger, host-meta and NodeInfo.

WebFinger's ``self`` link must be string-equal to the actor's ``id``: Mastodon
checks exactly that round trip before it will follow.
"""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from node import __version__
from node.identity import group_actor
from node.models import OutboundActivity
from node.web.context import ctx
from node.web.responses import json_error

JRD = "application/jrd+json"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"


def _account_of(resource: str, host: str) -> str | None:
    """The username a resource names on this host, None if it names nothing of ours.

    Raises ValueError for a resource that is not a well-formed acct: or https: URI.
    """
    resource = unquote(resource).strip()
    if resource.startswith("acct:"):
        user, sep, domain = resource[5:].lstrip("@").rpartition("@")
        if not sep or not user or not domain:
            raise ValueError("an acct: resource looks like acct:name@host")
        return user if domain.lower() == host else None
    if resource.startswith(("http://", "https://")):
        return resource
    raise ValueError("resource must be acct:name@host or the actor's URL")


async def webfinger(request: Request) -> Response:
    context = ctx(request)
    resource = request.query_params.get("resource")
    if not resource:
        return json_error(400, "the resource parameter is required, e.g. ?resource=acct:name@host")
    try:
        name_or_url = _account_of(resource, context.settings.host)
    except ValueError as exc:
        return json_error(400, str(exc))
    async with context.sessions() as session:
        actor = await group_actor(session)
    actor_id = context.urls.actor(actor.username)
    if name_or_url not in {actor.username, actor_id}:
        return json_error(404, "no such account on this node")
    subject = f"acct:{actor.username}@{context.settings.host}"
    body = {
        "subject": subject,
        "aliases": [actor_id, context.urls.home],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor_id},
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": context.urls.home,
            },
        ],
    }
    return JSONResponse(body, media_type=JRD, headers={"Cache-Control": "public, max-age=300"})


async def host_meta(request: Request) -> Response:
    base = ctx(request).urls.base
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    base = ctx(request).urls.base
    return JSONResponse(
        {
            "links": [
                {"rel": NODEINFO_21, "href": f"{base}/nodeinfo/2.1"},
                {"rel": NODEINFO_20, "href": f"{base}/nodeinfo/2.0"},
            ]
        }
    )


async def nodeinfo_21(request: Request) -> Response:
    return await _nodeinfo(request, "2.1")


async def nodeinfo_20(request: Request) -> Response:
    return await _nodeinfo(request, "2.0")


async def _nodeinfo(request: Request, version: str) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        posts = await session.scalar(
            select(func.count(OutboundActivity.id)).where(
                OutboundActivity.public.is_(True), OutboundActivity.type == "Create"
            )
        )
    software = {"name": "tocsin", "version": __version__}
    body = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
            "localPosts": int(posts or 0),
        },
        "metadata": {"nodeName": context.settings.node_name},
    }
    profile = NODEINFO_21 if version == "2.1" else NODEINFO_20
    return JSONResponse(body, media_type=f'application/json; profile="{profile}#"')


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/2.1", nodeinfo_21),
    Route("/nodeinfo/2.0", nodeinfo_20),
]
