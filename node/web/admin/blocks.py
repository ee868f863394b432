"""Admin pages for blocked servers and allow-list-only mode.

Kept apart from the follow pages because these set policy for whole servers
rather than acting on one actor: a block or an allow-list change decides who
may federate at all, drops what can no longer be delivered, and invalidates
the node's cached block list after the commit. No activity is sent; every
change is audited in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from node.allowlist import drop_refused_deliveries, load_policy, validate_domain
from node.ap.actors import block_list_url
from node.audit import audit
from node.blocklists import is_published, unblock_local
from node.blocks import block_domain
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.models import BlocklistSubscription, DomainAllow, DomainBlock
from node.settings_store import set_setting
from node.web.admin.replies import done, form_text, not_found, notice
from node.web.admin.session import render, require
from node.web.context import ctx

MAX_REASON = 500
SHARED_NOTICES = {
    "published-on": lazy_gettext("This node's block list is published, linked from its actor."),
    "published-off": lazy_gettext("This node's block list is no longer published."),
    "imported": lazy_gettext("The CSV file was imported."),
    "subscribed": lazy_gettext(
        "Subscribed: the list's blocks are applied and refreshed every few hours."
    ),
    "unsubscribed": lazy_gettext("Unsubscribed: the blocks that came from that list are lifted."),
}


async def blocks_page(
    request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with ctx(request).sessions() as session:
        blocks = (await session.scalars(select(DomainBlock).order_by(DomainBlock.domain))).all()
        allows = (await session.scalars(select(DomainAllow).order_by(DomainAllow.domain))).all()
        policy = await load_policy(session)
        published = await is_published(session)
        subscriptions = (
            await session.scalars(
                select(BlocklistSubscription).order_by(BlocklistSubscription.actor_uri)
            )
        ).all()
    actor_id = ctx(request).urls.actor(ctx(request).settings.node_name)
    context: dict[str, Any] = {
        "blocks": blocks,
        "allows": allows,
        "allowlist_mode": policy.enabled,
        "own_host": ctx(request).settings.host,
        "values": values or {},
        "errors": errors or {},
        "notice": notice(request) or SHARED_NOTICES.get(request.query_params.get("done", "")),
        "published": published,
        "block_list_url": block_list_url(actor_id),
        "subscriptions": subscriptions,
    }
    return render(request, "admin/blocks.html", context, 400 if errors else 200)


@require("admin")
async def blocks(request: Request) -> Response:
    return await blocks_page(request)


@require("admin")
async def block(request: Request) -> Response:
    node = ctx(request)
    form = request.state.form
    values = {
        "domain": form_text(form.get("domain"), 300),
        "reason": form_text(form.get("reason"), 5000),
    }
    errors: dict[str, str] = {}
    try:
        domain = validate_domain(values["domain"])
    except ValueError as exc:
        errors["domain"] = str(exc)
    else:
        if domain == node.settings.host:
            errors["domain"] = _("That is this node's own domain.")
    if len(values["reason"]) > MAX_REASON:
        errors["reason"] = _("Keep the reason under %(limit)s characters.", limit=MAX_REASON)
    if not errors:
        async with node.sessions() as session, session.begin():
            if await session.get(DomainBlock, domain) is not None:
                errors["domain"] = _("%(domain)s is already blocked.", domain=domain)
            else:
                await block_domain(session, domain, values["reason"])
                said = f"{domain}: {values['reason']}" if values["reason"] else domain
                audit(session, request.state.user, "domain.block", said)
    if errors:
        return await blocks_page(request, values, errors)
    node.blocks.invalidate()
    return done("/admin/federation/blocks", "blocked")


@require("admin")
async def unblock(request: Request) -> Response:
    node = ctx(request)
    domain = form_text(request.state.form.get("domain"), 300)
    async with node.sessions() as session, session.begin():
        if not domain or not await unblock_local(session, domain):
            return not_found(request, _("That server is not blocked."), "/admin/federation/blocks")
        audit(session, request.state.user, "domain.unblock", domain)
    node.blocks.invalidate()
    return done("/admin/federation/blocks", "unblocked")


@require("admin")
async def allowlist_mode(request: Request) -> Response:
    node = ctx(request)
    mode = request.state.form.get("mode")
    if mode not in ("on", "off"):
        return await blocks_page(request, errors={"mode": _("Choose on or off.")})
    async with node.sessions() as session, session.begin():
        await set_setting(session, "allowlist_mode", mode == "on")
        await drop_refused_deliveries(session, node.settings.host)
        audit(session, request.state.user, f"allowlist.{mode}")
    node.blocks.invalidate()
    return done("/admin/federation/blocks", f"allowlist-{mode}")


@require("admin")
async def allow(request: Request) -> Response:
    node = ctx(request)
    values = {"allow_domain": form_text(request.state.form.get("allow_domain"), 300)}
    try:
        domain = validate_domain(values["allow_domain"])
    except ValueError as exc:
        return await blocks_page(request, values, {"allow_domain": str(exc)})
    if domain == node.settings.host:
        message = _("This node's own domain is always allowed.")
        return await blocks_page(request, values, {"allow_domain": message})
    async with node.sessions() as session, session.begin():
        if await session.get(DomainAllow, domain) is not None:
            message = _("%(domain)s is already on the allow list.", domain=domain)
            return await blocks_page(request, values, {"allow_domain": message})
        session.add(DomainAllow(domain=domain))
        audit(session, request.state.user, "allowlist.add", domain)
    node.blocks.invalidate()
    return done("/admin/federation/blocks", "allowed")


@require("admin")
async def disallow(request: Request) -> Response:
    node = ctx(request)
    domain = form_text(request.state.form.get("domain"), 300)
    async with node.sessions() as session, session.begin():
        row = await session.get(DomainAllow, domain) if domain else None
        if row is None:
            back = "/admin/federation/blocks"
            return not_found(request, _("That server is not on the allow list."), back)
        await session.delete(row)
        await session.flush()
        await drop_refused_deliveries(session, node.settings.host)
        audit(session, request.state.user, "allowlist.remove", domain)
    node.blocks.invalidate()
    return done("/admin/federation/blocks", "disallowed")
