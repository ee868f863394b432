"""The node's actors and their collections, by content negotiation.

Each document is served at its own ``id`` (never a redirect to another id):
AS2 JSON for ``Accept: application/activity+json`` or the ld+json profile,
the public HTML page for browsers, with ``Vary: Accept``.

The two actor documents change only when an admin edits the profile, so their
JSON bytes are kept in memory and served while the database's ``actors``
counter (``node.content.changes``) is unchanged. They may lag an edit by up to
``ACTOR_LAG`` seconds (one read of the counters a second serves every request):
they are sent with ``max-age=60`` and more, so every reader may hold them that
long anyway, and servers that follow the node get the profile's ``Update``. The
HTML at the actor's id is the front page, which never lags.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.actor_document import group_document
from node.ap.actors import block_list_url, instance_actor_to_as
from node.ap.blocklist import block_to_as
from node.ap.collections import (
    PAGE_SIZE,
    hidden_collection,
    ordered_collection,
    ordered_collection_page,
)
from node.blocklists import is_published, own_blocks
from node.identity import group_actor, instance_actor
from node.models import Follower, Following, LocalActor, RemoteActor
from node.outbox import current_activities
from node.settings_store import get_setting
from node.web.context import ctx
from node.web.pagecache import Rendered, serve
from node.web.public import render_home
from node.web.responses import AS2_TYPE, as2_response, json_error, wants_activity_json

ACTOR_LAG = 1.0  # seconds an actor document may be behind an edit of the profile
MAX_PAGE = 10**9  # far past any real collection; keeps OFFSET inside every integer type


async def _named_group(request: Request) -> LocalActor | None:
    async with ctx(request).sessions() as session:
        actor = await group_actor(session)
    return actor if actor.username == request.path_params["username"] else None


def _as2_rendered(doc: dict[str, Any], *, vary: bool = True, max_age: int = 60) -> Rendered:
    """An AS2 document's bytes and headers, as ``as2_response`` sends them, to keep."""
    response = as2_response(doc, vary=vary, max_age=max_age)
    headers = {k: v for k, v in response.headers.items() if k not in ("content-length",)}
    headers.pop("content-type", None)
    return Rendered(bytes(response.body), AS2_TYPE, headers)


async def _group_document(request: Request) -> Response:
    """The Group actor's JSON, kept between edits of the profile.

    Its username is the configured node name (start-up refuses any other), so a
    wrong name is answered without the database.
    """
    context = ctx(request)
    if request.path_params["username"] != context.settings.node_name:
        return json_error(404, "no such actor")

    async def render(_: object) -> Rendered:
        async with context.sessions() as session:
            doc = await group_document(session, context.urls)
        return _as2_rendered(doc)

    return await serve(request, "group", render, actors=True, max_lag=ACTOR_LAG)


async def group(request: Request) -> Response:
    if wants_activity_json(request):
        return await _group_document(request)
    if request.path_params["username"] != ctx(request).settings.node_name:
        return json_error(404, "no such actor")
    response = await render_home(request)
    response.headers["Vary"] = "Accept"
    return response


async def instance(request: Request) -> Response:
    context = ctx(request)

    async def render(_: object) -> Rendered:
        async with context.sessions() as session:
            actor = await instance_actor(session)
        return _as2_rendered(instance_actor_to_as(actor, context.urls), vary=False, max_age=600)

    return await serve(request, "instance", render, actors=True, max_lag=ACTOR_LAG)


def _page_number(request: Request) -> int | None:
    """The requested page, None for the collection itself; raises ValueError on junk
    (anything but plain ASCII digits from 1 to ``MAX_PAGE``)."""
    raw = request.query_params.get("page")
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_PAGE)):
        raise ValueError
    page = int(raw)
    if not 1 <= page <= MAX_PAGE:
        raise ValueError
    return page


def _followers_query(actor: LocalActor) -> Select[Any]:
    return (
        select(RemoteActor.uri)
        .join(Follower, Follower.remote_actor_id == RemoteActor.id)
        .where(Follower.local_actor_id == actor.id, Follower.state == "accepted")
        .order_by(Follower.id.desc())
    )


def _following_query(actor: LocalActor) -> Select[Any]:
    return (
        select(RemoteActor.uri)
        .join(Following, Following.remote_actor_id == RemoteActor.id)
        .where(Following.local_actor_id == actor.id, Following.state == "accepted")
        .order_by(Following.id.desc())
    )


async def _collection(
    request: Request,
    collection_id: str,
    query: Select[Any],
    transform: Callable[[Any], Any] | None,
    *,
    hideable: bool = False,
) -> Response:
    """A collection or one of its pages. A ``hideable`` one (followers, following)
    answers with its size only while the admin hides the network, and its pages
    with 403, as Mastodon does for an account that hides its network."""
    try:
        page = _page_number(request)
    except ValueError:
        return json_error(400, f"page must be a whole number from 1 to {MAX_PAGE}")
    async with ctx(request).sessions() as session:
        hidden = hideable and bool(await get_setting(session, "hide_network"))
        if hidden and page is not None:
            return json_error(403, "this network's followers and following are hidden")
        total = int(
            await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            or 0
        )
        if hidden:
            return as2_response(hidden_collection(collection_id, total), vary=False)
        if page is None:
            return as2_response(ordered_collection(collection_id, total), vary=False)
        rows = await session.scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        items = [transform(item) for item in rows.all()] if transform else list(rows.all())
    return as2_response(
        ordered_collection_page(collection_id, page, items, total), vary=False, max_age=30
    )


def _embedded_activity(body: str) -> dict[str, Any]:
    """A stored activity body, without the ``@context`` its page already carries."""
    doc: dict[str, Any] = json.loads(body)
    doc.pop("@context", None)
    return doc


def _collection_route(
    kind: str,
    make_query: Callable[[LocalActor], Select[Any]],
    transform: Callable[[Any], Any] | None = None,
) -> Any:
    async def endpoint(request: Request) -> Response:
        actor = await _named_group(request)
        if actor is None:
            return json_error(404, "no such actor")
        urls = ctx(request).urls
        collection_id = getattr(urls, kind)(actor.username)
        query, hideable = make_query(actor), kind != "outbox"
        return await _collection(request, collection_id, query, transform, hideable=hideable)

    endpoint.__name__ = kind
    return endpoint


async def instance_outbox(request: Request) -> Response:
    collection_id = f"{ctx(request).urls.instance_actor}/outbox"
    if request.query_params.get("page"):
        return as2_response(ordered_collection_page(collection_id, 1, [], 0), vary=False)
    return as2_response(ordered_collection(collection_id, 0), vary=False)


BLOCK_LIST_PAGE_SIZE = 500


async def block_list(request: Request) -> Response:
    """The node's own blocks with their public reasons, when the admin publishes
    them (``node.blocklists``); readable without a signature."""
    actor = await _named_group(request)
    if actor is None:
        return json_error(404, "no such actor")
    try:
        page = _page_number(request)
    except ValueError:
        return json_error(400, f"page must be a whole number from 1 to {MAX_PAGE}")
    collection_id = block_list_url(ctx(request).urls.actor(actor.username))
    query = own_blocks()
    async with ctx(request).sessions() as session:
        if not await is_published(session):
            return json_error(404, "this node does not publish its block list")
        total = int(
            await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
            or 0
        )
        if page is None:
            doc = ordered_collection(collection_id, total, BLOCK_LIST_PAGE_SIZE)
            return as2_response(doc, vary=False)
        offset = (page - 1) * BLOCK_LIST_PAGE_SIZE
        rows = await session.scalars(query.limit(BLOCK_LIST_PAGE_SIZE).offset(offset))
        items = [block_to_as(row) for row in rows.all()]
    doc = ordered_collection_page(collection_id, page, items, total, BLOCK_LIST_PAGE_SIZE)
    return as2_response(doc, vary=False, max_age=60)


routes = [
    Route("/actor", instance),
    Route("/actor/outbox", instance_outbox),
    Route("/actors/{username:str}", group),
    Route(
        "/actors/{username:str}/outbox",
        _collection_route("outbox", current_activities, _embedded_activity),
    ),
    Route("/actors/{username:str}/followers", _collection_route("followers", _followers_query)),
    Route("/actors/{username:str}/following", _collection_route("following", _following_query)),
    Route("/actors/{username:str}/blocklist", block_list),
]
