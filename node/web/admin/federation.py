"""Admin pages for federation (admins only): following other nodes, followers,
blocked servers and allow-list-only mode.

Following a node takes two steps: the handle is resolved and the remote actor
shown (name, summary as plain text, domain), then a confirm button sends the
Follow. Every change is written in one transaction with its federation activity
(Follow, Undo, Accept, Reject) and its audit entry; the worker is woken after
the commit. A form that does not validate is shown again with the message
beside the field, and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation.errors import FederationError
from federation.hosts import url_authority
from federation.webfinger import parse_handle
from node import follows
from node.allowlist import drop_refused_deliveries, load_policy, validate_domain
from node.audit import audit
from node.blocks import block_domain, unblock_domain
from node.identity import group_actor
from node.models import DomainAllow, DomainBlock, Follower, Following, RemoteActor
from node.sanitize import html_to_text
from node.settings_store import set_setting
from node.web.admin.session import render, require
from node.web.context import ctx

HANDLE_HINT = "A handle looks like @network@example.org."
MAX_REASON = 500
NOTICES = {
    "follow-sent": "Follow request sent. It stays pending until the other node accepts it.",
    "unfollowed": "Unfollowed; the other node is being told.",
    "approved": "Follower approved; they are being told.",
    "rejected": "Follow request refused; they are being told.",
    "removed": "Follower removed; they are being told.",
    "blocked": "Server blocked: its followers and follows are gone and it is refused.",
    "unblocked": "Server unblocked.",
    "allowlist-on": "Allow-list-only mode is on: only the servers listed below can federate.",
    "allowlist-off": "Allow-list-only mode is off: every server that is not blocked can federate.",
    "allowed": "Server added to the allow list.",
    "disallowed": "Server removed from the allow list.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def _done(path: str, what: str) -> Response:
    return RedirectResponse(f"{path}?done={what}", status_code=303)


def not_found(request: Request, message: str, back: str) -> Response:
    return render(request, "admin/not_found.html", {"message": message, "back": back}, 404)


def _handle_of(remote: RemoteActor) -> str:
    return f"@{remote.preferred_username}@{remote.domain}"


def _sentence(message: str) -> str:
    """A domain error message (lower case, no stop) as a sentence to show."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _text(value: object, limit: int = 500) -> str:
    return str(value or "").strip()[:limit]


# -- following --------------------------------------------------------------------------


async def _federation_page(
    request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with ctx(request).sessions() as session:
        local = await group_actor(session)
        rows = await session.execute(
            select(Following, RemoteActor)
            .join(RemoteActor, RemoteActor.id == Following.remote_actor_id)
            .where(Following.local_actor_id == local.id)
            .order_by(Following.state.desc(), Following.id.desc())  # pending first
        )
        following = [(f, r, _handle_of(r)) for f, r in rows.all()]
    context = {
        "following": following,
        "values": values or {},
        "errors": errors or {},
        "notice": _notice(request),
        "hint": HANDLE_HINT,
    }
    return render(request, "admin/federation.html", context, 400 if errors else 200)


@require("admin")
async def federation(request: Request) -> Response:
    return await _federation_page(request)


async def _target_problem(request: Request, target: str) -> str | None:
    """Why ``target`` (a handle or actor URL) cannot be followed, before any request."""
    node = ctx(request)
    if not target:
        return "Enter the handle of the node to follow."
    if target.startswith(("https://", "http://")):
        host = url_authority(target)
        if not host:
            return "That address has no server in it."
    else:
        try:
            host = parse_handle(target)[1]
        except FederationError:
            return "That is not a handle."
    if host == node.settings.host:
        return "That is this node's own server."
    if await node.blocks.is_blocked(host):
        return f"{host} is blocked on this node; unblock it first."
    if not await node.blocks.allowlist.permits(host, node.settings.host):
        return f"Allow-list-only mode is on and {host} is not on the allow list."
    return None


@require("admin")
async def follow_lookup(request: Request) -> Response:
    """Step one: resolve the handle and show who it is, with a confirm button."""
    node = ctx(request)
    target = _text(request.state.form.get("handle"), 600)
    values = {"handle": target}
    problem = await _target_problem(request, target)
    if problem is not None:
        return await _federation_page(request, values, {"handle": problem})
    try:
        remote = await follows.resolve_target(node, target)
    except FederationError as exc:
        problem = f"Could not find that node: {exc.public_message}."
        return await _federation_page(request, values, {"handle": problem})
    async with node.sessions() as session:
        local = await group_actor(session)
        if remote.uri == node.urls.actor(local.username):
            return await _federation_page(request, values, {"handle": "That is this node."})
        existing = await session.scalar(
            select(Following.state).where(
                Following.local_actor_id == local.id, Following.remote_actor_id == remote.id
            )
        )
    if existing == "accepted":
        message = f"This node already follows {_handle_of(remote)}."
        return await _federation_page(request, values, {"handle": message})
    context = {
        "remote": remote,
        "handle": _handle_of(remote),
        "summary": html_to_text(remote.summary),
        "approves": remote.raw.get("manuallyApprovesFollowers") is True,
        "pending": existing == "pending",
    }
    return render(request, "admin/follow_confirm.html", context)


def _int(value: object) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 19 else None


@require("admin")
async def follow_confirm(request: Request) -> Response:
    """Step two: send the Follow to the actor shown in step one."""
    node = ctx(request)
    remote_id = _int(request.state.form.get("remote_id"))
    async with node.sessions() as session:
        remote = await session.get(RemoteActor, remote_id) if remote_id else None
    if remote is None:
        return not_found(request, "That remote actor is not known here.", "/admin/federation")
    problem = await _target_problem(request, remote.uri)
    if problem is None:
        try:
            async with node.sessions() as session, session.begin():
                await follows.follow(node, session, remote)
                audit(session, request.state.user, "follow", remote.uri)
        except follows.FollowError as exc:
            problem = _sentence(str(exc))
    if problem is not None:
        return await _federation_page(request, {"handle": _handle_of(remote)}, {"handle": problem})
    node.wake()
    return _done("/admin/federation", "follow-sent")


@require("admin")
async def unfollow(request: Request) -> Response:
    node = ctx(request)
    async with node.sessions() as session, session.begin():
        row = await session.get(Following, request.path_params["id"])
        remote = await session.get(RemoteActor, row.remote_actor_id) if row else None
        if row is None or remote is None:
            return not_found(request, "This node does not follow that actor.", "/admin/federation")
        await follows.unfollow(node, session, remote)
        audit(session, request.state.user, "unfollow", remote.uri)
    node.wake()
    return _done("/admin/federation", "unfollowed")


# -- followers --------------------------------------------------------------------------

FOLLOWER_ACTIONS = {"approve": "approved", "reject": "rejected", "remove": "removed"}
WRONG_STATE = {
    "approve": "{} already follows this node",
    "reject": "{} already follows this node; remove it instead",
    "remove": "{} has only asked to follow; refuse the request instead",
}


async def _followers_page(request: Request, error: str | None = None) -> Response:
    async with ctx(request).sessions() as session:
        local = await group_actor(session)
        rows = await session.execute(
            select(Follower, RemoteActor)
            .join(RemoteActor, RemoteActor.id == Follower.remote_actor_id)
            .where(Follower.local_actor_id == local.id)
            .order_by(Follower.state.desc(), Follower.id.desc())  # requests first
        )
        followers = [(f, r, _handle_of(r)) for f, r in rows.all()]
        policy = await load_policy(session)
    host = ctx(request).settings.host
    context = {
        "pending": [row for row in followers if row[0].state == "pending"],
        "accepted": [row for row in followers if row[0].state == "accepted"],
        "approval": local.manually_approves_followers,
        "refused": {r.domain for _, r, _ in followers if not policy.permits(r.domain, host)},
        "notice": _notice(request),
        "error": error,
    }
    return render(request, "admin/followers.html", context, 400 if error else 200)


@require("admin")
async def followers(request: Request) -> Response:
    return await _followers_page(request)


@require("admin")
async def follower_action(request: Request) -> Response:
    node = ctx(request)
    action = request.path_params["action"]
    back = "/admin/federation/followers"
    if action not in FOLLOWER_ACTIONS:
        return not_found(request, "There is no such action.", back)
    try:
        async with node.sessions() as session, session.begin():
            row = await session.get(Follower, request.path_params["id"])
            remote = await session.get(RemoteActor, row.remote_actor_id) if row else None
            if row is None or remote is None:
                return not_found(request, "That actor does not follow this node.", back)
            if row.state != ("accepted" if action == "remove" else "pending"):
                raise follows.FollowError(WRONG_STATE[action].format(_handle_of(remote)))
            if action == "approve":
                await follows.approve_follower(node, session, remote.uri)
            else:
                await follows.reject_follower(node, session, remote.uri)
            audit(session, request.state.user, f"follower.{action}", remote.uri)
    except follows.FollowError as exc:
        return await _followers_page(request, _sentence(str(exc)))
    node.wake()
    return _done(back, FOLLOWER_ACTIONS[action])


# -- blocks and the allow list ----------------------------------------------------------


async def _blocks_page(
    request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with ctx(request).sessions() as session:
        blocks = (await session.scalars(select(DomainBlock).order_by(DomainBlock.domain))).all()
        allows = (await session.scalars(select(DomainAllow).order_by(DomainAllow.domain))).all()
        policy = await load_policy(session)
    context: dict[str, Any] = {
        "blocks": blocks,
        "allows": allows,
        "allowlist_mode": policy.enabled,
        "own_host": ctx(request).settings.host,
        "values": values or {},
        "errors": errors or {},
        "notice": _notice(request),
    }
    return render(request, "admin/blocks.html", context, 400 if errors else 200)


@require("admin")
async def blocks(request: Request) -> Response:
    return await _blocks_page(request)


@require("admin")
async def block(request: Request) -> Response:
    node = ctx(request)
    form = request.state.form
    values = {"domain": _text(form.get("domain"), 300), "reason": _text(form.get("reason"), 5000)}
    errors: dict[str, str] = {}
    try:
        domain = validate_domain(values["domain"])
    except ValueError as exc:
        errors["domain"] = str(exc)
    else:
        if domain == node.settings.host:
            errors["domain"] = "That is this node's own domain."
    if len(values["reason"]) > MAX_REASON:
        errors["reason"] = f"Keep the reason under {MAX_REASON} characters."
    if not errors:
        async with node.sessions() as session, session.begin():
            if await session.get(DomainBlock, domain) is not None:
                errors["domain"] = f"{domain} is already blocked."
            else:
                await block_domain(session, domain, values["reason"])
                audit(session, request.state.user, "domain.block", domain)
    if errors:
        return await _blocks_page(request, values, errors)
    node.blocks.invalidate()
    return _done("/admin/federation/blocks", "blocked")


@require("admin")
async def unblock(request: Request) -> Response:
    node = ctx(request)
    domain = _text(request.state.form.get("domain"), 300)
    async with node.sessions() as session, session.begin():
        if not domain or not await unblock_domain(session, domain):
            return not_found(request, "That server is not blocked.", "/admin/federation/blocks")
        audit(session, request.state.user, "domain.unblock", domain)
    node.blocks.invalidate()
    return _done("/admin/federation/blocks", "unblocked")


@require("admin")
async def allowlist_mode(request: Request) -> Response:
    node = ctx(request)
    mode = request.state.form.get("mode")
    if mode not in ("on", "off"):
        return await _blocks_page(request, errors={"mode": "Choose on or off."})
    async with node.sessions() as session, session.begin():
        await set_setting(session, "allowlist_mode", mode == "on")
        await drop_refused_deliveries(session, node.settings.host)
        audit(session, request.state.user, f"allowlist.{mode}")
    node.blocks.invalidate()
    return _done("/admin/federation/blocks", f"allowlist-{mode}")


@require("admin")
async def allow(request: Request) -> Response:
    node = ctx(request)
    values = {"allow_domain": _text(request.state.form.get("allow_domain"), 300)}
    try:
        domain = validate_domain(values["allow_domain"])
    except ValueError as exc:
        return await _blocks_page(request, values, {"allow_domain": str(exc)})
    if domain == node.settings.host:
        message = "This node's own domain is always allowed."
        return await _blocks_page(request, values, {"allow_domain": message})
    async with node.sessions() as session, session.begin():
        if await session.get(DomainAllow, domain) is not None:
            message = f"{domain} is already on the allow list."
            return await _blocks_page(request, values, {"allow_domain": message})
        session.add(DomainAllow(domain=domain))
        audit(session, request.state.user, "allowlist.add", domain)
    node.blocks.invalidate()
    return _done("/admin/federation/blocks", "allowed")


@require("admin")
async def disallow(request: Request) -> Response:
    node = ctx(request)
    domain = _text(request.state.form.get("domain"), 300)
    async with node.sessions() as session, session.begin():
        row = await session.get(DomainAllow, domain) if domain else None
        if row is None:
            back = "/admin/federation/blocks"
            return not_found(request, "That server is not on the allow list.", back)
        await session.delete(row)
        await session.flush()
        await drop_refused_deliveries(session, node.settings.host)
        audit(session, request.state.user, "allowlist.remove", domain)
    node.blocks.invalidate()
    return _done("/admin/federation/blocks", "disallowed")


routes = [
    Route("/admin/federation", federation),
    Route("/admin/federation/follow", follow_lookup, methods=["POST"]),
    Route("/admin/federation/follow/confirm", follow_confirm, methods=["POST"]),
    Route("/admin/federation/following/{id:int}/unfollow", unfollow, methods=["POST"]),
    Route("/admin/federation/followers", followers),
    Route("/admin/federation/followers/{id:int}/{action:str}", follower_action, methods=["POST"]),
    Route("/admin/federation/blocks", blocks),
    Route("/admin/federation/blocks/add", block, methods=["POST"]),
    Route("/admin/federation/blocks/remove", unblock, methods=["POST"]),
    Route("/admin/federation/allowlist/mode", allowlist_mode, methods=["POST"]),
    Route("/admin/federation/allowlist/add", allow, methods=["POST"]),
    Route("/admin/federation/allowlist/remove", disallow, methods=["POST"]),
]
