"""Admin pages for following other nodes and answering those who follow this one.

Kept apart from the block pages because these act on one remote actor at a
time and speak the follow protocol: following takes two steps (the handle is
resolved and the remote actor shown, name, summary as plain text, domain; then
a confirm button sends the Follow), and each change is written in one
transaction with its federation activity (Follow, Undo, Accept, Reject) and its
audit entry; the worker is woken after the commit. Whether a server may be
followed at all is the block list's answer, asked here before any request.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from federation.errors import FederationError
from federation.hosts import url_authority
from federation.webfinger import parse_handle
from node import follows
from node.actor_document import send_actor_update
from node.allowlist import load_policy
from node.audit import audit
from node.discovery import discover
from node.handles import handle_of
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.identity import group_actor
from node.models import Follower, Following, RemoteActor
from node.sanitize import html_to_text
from node.settings_store import get_setting, set_setting
from node.web.admin.replies import done, form_text, not_found, notice
from node.web.admin.session import render, require
from node.web.context import ctx

HANDLE_HINT = lazy_gettext("A handle looks like @network@example.org.")


def _handle_of(remote: RemoteActor) -> str:
    return handle_of(remote)


def _sentence(message: str) -> str:
    """A domain error message (lower case, no stop) as a sentence to show."""
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


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
        switches = {name: bool(await get_setting(session, name)) for name in PRIVACY_SWITCHES}
        relay_default = bool(await get_setting(session, "relay_urgent_default"))
    context = {
        "following": following,
        "privacy": switches,
        "relay_default": relay_default,
        "privacy_saved": request.query_params.get("done") == "privacy",
        "values": values or {},
        "errors": errors or {},
        "notice": notice(request),
        "hint": HANDLE_HINT,
    }
    return render(request, "admin/federation.html", context, 400 if errors else 200)


@require("admin")
async def federation(request: Request) -> Response:
    return await _federation_page(request)


PRIVACY_SWITCHES = ("hide_network", "discoverable", "indexable", "federation_page")


@require("admin")
async def privacy(request: Request) -> Response:
    """Save the network's privacy switches (an unticked box is off), audited.

    The actor's ``updated_at`` is touched in the same transaction, so every
    process serves the renewed actor document at once (``node.content.changes``),
    and an ``Update`` of the actor goes to the followers.
    """
    form = request.state.form
    switches = {name: form.get(name) == "on" for name in PRIVACY_SWITCHES}
    async with ctx(request).sessions() as session, session.begin():
        for name, value in switches.items():
            await set_setting(session, name, value)
        # the served document renews at once; followers' servers get an Update
        await send_actor_update(ctx(request), session, await group_actor(session))
        summary = ", ".join(f"{name}={'on' if on else 'off'}" for name, on in switches.items())
        audit(session, request.state.user, "network.privacy", summary)
    return done("/admin/federation", "privacy")


async def _target_problem(request: Request, target: str) -> str | None:
    """Why ``target`` (a handle or actor URL) cannot be followed, before any request."""
    node = ctx(request)
    if (unreachable := follows.unreachable_node(node.settings)) is not None:
        return _sentence(unreachable)
    if not target:
        return _("Enter the handle of the node to follow.")
    if target.startswith(("https://", "http://")):
        host = url_authority(target)
        if not host:
            return _("That address has no server in it.")
    else:
        try:
            host = parse_handle(target)[1]
        except FederationError:
            return _("That is not a handle.")
    if host == node.settings.host:
        return _("That is this node's own server.")
    if await node.blocks.is_blocked(host):
        return _("%(host)s is blocked on this node; unblock it first.", host=host)
    if not await node.blocks.allowlist.permits(host, node.settings.host):
        return _("Allow-list-only mode is on and %(host)s is not on the allow list.", host=host)
    return None


@require("admin")
async def follow_lookup(request: Request) -> Response:
    """Step one: resolve the handle and show who it is, with a confirm button."""
    node = ctx(request)
    target = form_text(request.state.form.get("handle"), 600)
    values = {"handle": target}
    problem = await _target_problem(request, target)
    if problem is not None:
        return await _federation_page(request, values, {"handle": problem})
    try:
        remote = await follows.resolve_target(node, target)
    except FederationError as exc:
        problem = _("Could not find that node: %(reason)s.", reason=exc.public_message)
        return await _federation_page(request, values, {"handle": problem})
    async with node.sessions() as session:
        local = await group_actor(session)
        if remote.uri == node.urls.actor(local.username):
            return await _federation_page(request, values, {"handle": _("That is this node.")})
        existing = await session.scalar(
            select(Following.state).where(
                Following.local_actor_id == local.id, Following.remote_actor_id == remote.id
            )
        )
    if existing == "accepted":
        message = _("This node already follows %(handle)s.", handle=_handle_of(remote))
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
        return not_found(request, _("That remote actor is not known here."), "/admin/federation")
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
    return done("/admin/federation", "follow-sent")


@require("admin")
async def unfollow(request: Request) -> Response:
    node = ctx(request)
    async with node.sessions() as session, session.begin():
        row = await session.get(Following, request.path_params["id"])
        remote = await session.get(RemoteActor, row.remote_actor_id) if row else None
        if row is None or remote is None:
            return not_found(
                request, _("This node does not follow that actor."), "/admin/federation"
            )
        await follows.unfollow(node, session, remote)
        audit(session, request.state.user, "unfollow", remote.uri)
    node.wake()
    return done("/admin/federation", "unfollowed")


@require("admin")
async def relay_switch(request: Request) -> Response:
    """Turn relaying of one followed network's urgent callouts on or off, audited."""
    on = request.state.form.get("relay_urgent") == "on"
    async with ctx(request).sessions() as session, session.begin():
        row = await session.get(Following, request.path_params["id"])
        remote = await session.get(RemoteActor, row.remote_actor_id) if row else None
        if row is None or remote is None:
            return not_found(
                request, _("This node does not follow that actor."), "/admin/federation"
            )
        row.relay_urgent = on
        audit(session, request.state.user, "relay.urgent", f"{remote.uri} {'on' if on else 'off'}")
    return done("/admin/federation", "relay")


@require("admin")
async def relay_default(request: Request) -> Response:
    """Whether new follows relay urgent callouts, audited."""
    on = request.state.form.get("relay_urgent_default") == "on"
    async with ctx(request).sessions() as session, session.begin():
        await set_setting(session, "relay_urgent_default", on)
        audit(session, request.state.user, "relay.default", "on" if on else "off")
    return done("/admin/federation", "relay")


@require("admin")
async def nearby(request: Request) -> Response:
    """Networks near yours (``node.discovery``), each with a follow button that
    leads to the usual confirmation (CSRF-checked, audited)."""
    node = ctx(request)
    found = await discover(node, refresh=request.query_params.get("refresh") == "1")
    async with node.sessions() as session:
        uris = [candidate.network.uri for candidate in found]
        query = select(RemoteActor.uri, RemoteActor.id).where(RemoteActor.uri.in_(uris))
        ids = {uri: remote_id for uri, remote_id in (await session.execute(query)).all()}
    rows = [(candidate, ids.get(candidate.network.uri)) for candidate in found]
    return render(request, "admin/nearby.html", {"candidates": rows})


# -- followers --------------------------------------------------------------------------

FOLLOWER_ACTIONS = {"approve": "approved", "reject": "rejected", "remove": "removed"}
WRONG_STATE = {
    "approve": lazy_gettext("%(handle)s already follows this node"),
    "reject": lazy_gettext("%(handle)s already follows this node; remove it instead"),
    "remove": lazy_gettext("%(handle)s has only asked to follow; refuse the request instead"),
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
        "refused": {r.domain for __, r, ___ in followers if not policy.permits(r.domain, host)},
        "notice": notice(request),
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
        return not_found(request, _("There is no such action."), back)
    try:
        async with node.sessions() as session, session.begin():
            row = await session.get(Follower, request.path_params["id"])
            remote = await session.get(RemoteActor, row.remote_actor_id) if row else None
            if row is None or remote is None:
                return not_found(request, _("That actor does not follow this node."), back)
            if row.state != ("accepted" if action == "remove" else "pending"):
                raise follows.FollowError(str(WRONG_STATE[action]) % {"handle": _handle_of(remote)})
            if action == "approve":
                await follows.approve_follower(node, session, remote.uri)
            else:
                await follows.reject_follower(node, session, remote.uri)
            audit(session, request.state.user, f"follower.{action}", remote.uri)
    except follows.FollowError as exc:
        return await _followers_page(request, _sentence(str(exc)))
    node.wake()
    return done(back, FOLLOWER_ACTIONS[action])
