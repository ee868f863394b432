"""Admin forms for shared block lists: publishing this node's list, importing
and exporting Mastodon's domain-block CSV, subscribing to a trusted node's list.

They sit on the blocks page (``node.web.admin.blocks``); each change is audited
in its transaction and the node's cached block list is invalidated after it.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.errors import FederationError
from node.audit import audit
from node.block_csv import MAX_BYTES, CsvError, format_csv, parse_csv
from node.blocklist_subscriptions import SubscriptionError, refresh, subscribe, unsubscribe
from node.blocklists import block_many, entries_of, own_blocks, set_published
from node.i18n import gettext as _
from node.identity import group_actor
from node.models import BlocklistSubscription, utcnow
from node.web.admin.blocks import blocks_page
from node.web.admin.replies import done, form_text, not_found
from node.web.admin.session import require
from node.web.context import ctx

PAGE = "/admin/federation/blocks"


@require("admin")
async def publish(request: Request) -> Response:
    node = ctx(request)
    mode = request.state.form.get("publish")
    if mode not in ("on", "off"):
        return await blocks_page(request, errors={"publish": _("Choose on or off.")})
    async with node.sessions() as session, session.begin():
        await set_published(session, mode == "on")
        (await group_actor(session)).updated_at = utcnow()  # the actor links the list
        audit(session, request.state.user, f"blocklist.publish.{mode}")
    return done(PAGE, f"published-{mode}")


@require("admin")
async def import_csv(request: Request) -> Response:
    node = ctx(request)
    upload = request.state.form.get("csv")
    if not isinstance(upload, UploadFile) or not upload.filename:
        if isinstance(upload, UploadFile):
            await upload.close()
        return await blocks_page(request, errors={"csv": _("Choose a CSV file.")})
    try:
        data = await upload.read(MAX_BYTES + 1)
    finally:
        await upload.close()
    try:
        parsed = parse_csv(data.decode("utf-8-sig"))
    except (CsvError, UnicodeDecodeError) as exc:
        message = str(exc) if isinstance(exc, CsvError) else _("the file is not UTF-8 text")
        return await blocks_page(
            request, errors={"csv": _("Cannot import: %(reason)s.", reason=message)}
        )
    name = form_text(upload.filename, 200)
    async with node.sessions() as session, session.begin():
        added = await block_many(
            session, parsed.entries, source=f"csv:{name}", own_host=node.settings.host
        )
        audit(session, request.state.user, "blocklist.import", f"{name}: {len(added)} blocked")
    node.blocks.invalidate()
    return done(PAGE, "imported")


@require("admin")
async def export_csv(request: Request) -> Response:
    async with ctx(request).sessions() as session:
        rows = (await session.scalars(own_blocks())).all()
    headers = {"Content-Disposition": 'attachment; filename="domain_blocks.csv"'}
    return Response(format_csv(entries_of(rows)), media_type="text/csv", headers=headers)


@require("admin")
async def subscribe_to(request: Request) -> Response:
    node = ctx(request)
    values = {"source": form_text(request.state.form.get("source"), 300)}
    if not values["source"]:
        return await blocks_page(request, values, {"source": _("Enter a node such as @name@host.")})
    try:
        row = await subscribe(node, values["source"])
        await refresh(node, row.id)
    except (SubscriptionError, FederationError) as exc:
        message = exc.public_message if isinstance(exc, FederationError) else str(exc)
        return await blocks_page(request, values, {"source": message})
    async with node.sessions() as session, session.begin():
        audit(session, request.state.user, "blocklist.subscribe", row.actor_uri)
    return done(PAGE, "subscribed")


@require("admin")
async def unsubscribe_from(request: Request) -> Response:
    node = ctx(request)
    uri = form_text(request.state.form.get("actor_uri"), 2048)
    async with node.sessions() as session, session.begin():
        known = await session.scalar(
            select(BlocklistSubscription.id).where(BlocklistSubscription.actor_uri == uri)
        )
        if known is None:
            return not_found(request, _("There is no such subscription."), PAGE)
        await unsubscribe(session, uri)
        audit(session, request.state.user, "blocklist.unsubscribe", uri)
    node.blocks.invalidate()
    return done(PAGE, "unsubscribed")


routes = [
    Route(f"{PAGE}/publish", publish, methods=["POST"]),
    Route(f"{PAGE}/import", import_csv, methods=["POST"]),
    Route(f"{PAGE}/export.csv", export_csv),
    Route(f"{PAGE}/subscribe", subscribe_to, methods=["POST"]),
    Route(f"{PAGE}/unsubscribe", unsubscribe_from, methods=["POST"]),
]
