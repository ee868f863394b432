"""The inboxes: verify, record (deduplicated by activity id), answer 202, process.

Nothing is processed unverified, and nothing accepted is lost: the activity
is committed before the 202 (``node.recorder``, group commit), then processed
right away in the background by this process (``node.inbound``) and, should
this process die first, by any worker once its lease runs out.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from federation.as2 import id_of
from federation.errors import (
    FederationError,
    KeyUnavailableError,
    MalformedError,
    SignatureError,
)
from federation.inbox import check_inbox_content_type, read_inbox_body, verify_inbox_post
from federation.jsonlimits import loads_limited
from federation.signed import SignedRequest
from node.web.context import ctx
from node.web.responses import json_error

log = logging.getLogger(__name__)


def _is_self_delete(body: bytes) -> bool:
    """A Delete of an actor by itself: once the actor is gone its key cannot be
    fetched, so Mastodon answers 202 and ignores it rather than 401."""
    try:
        doc = loads_limited(body)
    except MalformedError:
        return False
    return (
        isinstance(doc, dict)
        and doc.get("type") == "Delete"
        and id_of(doc.get("object")) is not None
        and id_of(doc.get("object")) == id_of(doc.get("actor"))
    )


async def receive(request: Request) -> Response:
    context = ctx(request)
    try:
        check_inbox_content_type(request.headers.get("content-type", ""))
        body = await read_inbox_body(request.headers.get("content-length"), request.stream())
    except FederationError as exc:  # 415, 413: answered without reading on
        return json_error(exc.status_code, exc.public_message)
    except ClientDisconnect:
        return Response(status_code=400)
    signed = SignedRequest(
        method=request.method,
        path=request.scope.get("raw_path", request.url.path.encode()).decode("latin-1"),
        query=request.scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
        body=body,
        scheme="https" if context.settings.https else "http",
    )
    try:
        verified = await verify_inbox_post(
            signed,
            key_lookup=context.directory,
            now=datetime.now(UTC),
            # blocked, or not listed while allow-list-only mode is on: 403 before any key fetch
            is_blocked=partial(context.blocks.refuses, own_host=context.settings.host),
        )
    except SignatureError as exc:
        # only once the signature was well-formed and the body matched its digest
        if isinstance(exc, KeyUnavailableError) and _is_self_delete(body):
            return Response(status_code=202)
        log.info("inbox refused a request: %s", exc)
        return json_error(401, exc.public_message)
    except FederationError as exc:
        log.info("inbox refused a request: %s", exc)
        return json_error(exc.status_code, exc.public_message)
    try:
        # None for a replay: already recorded, no second effect
        await context.recorder.record(verified)
    except Exception:
        log.exception("could not record activity %s", verified.activity.id)
        return json_error(
            503, "the activity could not be stored; send it again later", {"Retry-After": "30"}
        )
    return Response(status_code=202)


async def actor_inbox(request: Request) -> Response:
    # the group actor's username is the node name: the node refuses to start renamed
    if ctx(request).settings.node_name != request.path_params["username"]:
        return json_error(404, "no such actor")
    return await receive(request)


routes = [
    Route("/inbox", receive, methods=["POST"]),
    Route("/actor/inbox", receive, methods=["POST"]),
    Route("/actors/{username:str}/inbox", actor_inbox, methods=["POST"]),
]
