"""Admin pages about the node and the people who run it (admins only): the node's
profile, the user accounts, and the audit log.

Saving the profile changes the Group actor and sends an ``Update`` with the
whole actor document to every accepted follower, in the same transaction as
the change and its audit entry. Users get a generated one-time password, shown
once; the last admin can never be removed or demoted, and nobody removes or
demotes themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.actor_document import send_actor_update
from node.ap.dates import iso_utc
from node.audit import audit, group_logins
from node.context import NodeContext
from node.follows import approve_follower
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.identity import chosen_name, group_actor
from node.models import AuditEntry, Follower, LocalActor, RemoteActor, User, utcnow
from node.settings_store import get_setting, set_setting
from node.users import ROLES, UserError, create_user, generate_password
from node.web.admin.language_page import language_context
from node.web.admin.replies import not_found
from node.web.admin.session import end_sessions, render, require
from node.web.context import ctx

MAX_NAME = 100
MAX_SUMMARY = 2000
MAX_REGION = 200
AUDIT_PAGE = 50
# Control characters other than tab and newline (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
NOTICES = {"saved": lazy_gettext("Profile saved; followers are being sent the update.")}
USER_NOTICES = {
    "role": lazy_gettext("Role changed."),
    "removed": lazy_gettext("User removed."),
}


def _clean(value: object, *, multiline: bool = False) -> str:
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return text if multiline else text.replace("\n", " ")


# -- profile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileForm:
    display_name: str
    summary: str
    region: str
    approval: bool
    require_totp: bool

    @classmethod
    def parse(cls, form: Any) -> ProfileForm:
        return cls(
            display_name=_clean(form.get("display_name")),
            summary=_clean(form.get("summary"), multiline=True),
            region=_clean(form.get("region")),
            approval=form.get("approval") == "on",
            require_totp=form.get("require_totp") == "on",
        )

    def errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        limits = {"display_name": MAX_NAME, "summary": MAX_SUMMARY, "region": MAX_REGION}
        for name, limit in limits.items():
            value = getattr(self, name)
            if len(value) > limit:
                errors[name] = _(
                    "Keep this under %(limit)s characters (it has %(length)s).",
                    limit=limit,
                    length=len(value),
                )
            elif _CONTROL.search(value):
                errors[name] = _("Remove the control characters from this text.")
        if not self.display_name and "display_name" not in errors:
            errors["display_name"] = _("Give the network a name.")
        return errors

    def values(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "summary": self.summary,
            "region": self.region,
            "approval": self.approval,
            "require_totp": self.require_totp,
        }


async def _profile_values(session: AsyncSession) -> dict[str, Any]:
    local = await group_actor(session)
    return {
        "display_name": chosen_name(local),  # empty until named: the username is no name
        "summary": local.summary,
        "region": local.region,
        "approval": local.manually_approves_followers,
        "require_totp": bool(await get_setting(session, "require_totp_for_admins", False)),
    }


async def _approve_waiting(node: NodeContext, session: AsyncSession, local: LocalActor) -> None:
    """Approval turned off: accept the requests still waiting (as Mastodon does)."""
    waiting = await session.scalars(
        select(RemoteActor.uri)
        .join(Follower, Follower.remote_actor_id == RemoteActor.id)
        .where(Follower.local_actor_id == local.id, Follower.state == "pending")
    )
    for uri in waiting.all():
        await approve_follower(node, session, uri)


async def _save_profile(
    node: NodeContext, session: AsyncSession, user: User, form: ProfileForm
) -> bool:
    """Apply ``form``; True when the actor changed (and an Update was queued)."""
    local = await group_actor(session)
    new = {
        "display_name": form.display_name,
        "summary": form.summary,
        "region": form.region,
        "manually_approves_followers": form.approval,
    }
    changed = sorted(name for name, value in new.items() if getattr(local, name) != value)
    if changed:
        stop_approving = local.manually_approves_followers and not form.approval
        for name in changed:
            setattr(local, name, new[name])
        local.updated_at = utcnow()
        if stop_approving:
            await _approve_waiting(node, session, local)
        await send_actor_update(node, session, local)
        audit(session, user, "profile.update", ", ".join(changed))
    if form.require_totp != bool(await get_setting(session, "require_totp_for_admins", False)):
        await set_setting(session, "require_totp_for_admins", form.require_totp)
        audit(session, user, "settings.require_totp", "on" if form.require_totp else "off")
    return bool(changed)


@require("admin")
async def profile(request: Request) -> Response:
    node, user = ctx(request), request.state.user
    if request.method == "GET":
        async with node.sessions() as session:
            values = await _profile_values(session)
        notice = NOTICES.get(request.query_params.get("done", ""))
        context = {"values": values, "errors": {}, "notice": notice}
        return render(request, "admin/profile.html", {**context, **language_context(user)})
    form = ProfileForm.parse(request.state.form)
    errors = form.errors()
    if errors:
        context = {"values": form.values(), "errors": errors, **language_context(user)}
        return render(request, "admin/profile.html", context, 400)
    async with node.sessions() as session, session.begin():
        queued = await _save_profile(node, session, request.state.user, form)
    if queued:
        node.wake()
    return RedirectResponse("/admin/profile?done=saved", status_code=303)


# -- users ------------------------------------------------------------------------------


async def _users_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, str] | None = None,
) -> Response:
    async with ctx(request).sessions() as session:
        users = (await session.scalars(select(User).order_by(User.username))).all()
    context = {
        "users": users,
        "roles": ROLES,
        "values": values or {"role": "editor"},
        "errors": errors or {},
        "created": created,
        "notice": USER_NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "admin/users.html", context, 400 if errors else 200)


@require("admin")
async def users(request: Request) -> Response:
    return await _users_page(request)


@require("admin")
async def add_user(request: Request) -> Response:
    form = request.state.form
    values = {"username": _clean(form.get("username"))[:200].lower(), "role": str(form.get("role"))}
    if values["role"] not in ROLES:
        return await _users_page(request, values=values, errors={"role": _("Choose a role.")})
    password = generate_password()
    try:
        async with ctx(request).sessions() as session, session.begin():
            user = await create_user(
                session, values["username"], values["role"], password, must_change=True
            )
            audit(session, request.state.user, "user.add", f"{user.username} ({user.role})")
    except (UserError, IntegrityError) as exc:
        message = str(exc) if isinstance(exc, UserError) else _("that username is taken")
        message = message[:1].upper() + message[1:] + "."
        return await _users_page(request, values=values, errors={"username": message})
    created = {"username": user.username, "role": user.role, "password": password}
    return await _users_page(request, created=created)


async def _admins_locked(session: AsyncSession) -> list[int]:
    """The admins' ids, their rows locked (PostgreSQL) so that two admins demoting
    or removing each other at once cannot leave the node with none."""
    rows = await session.scalars(
        select(User.id).where(User.role == "admin").order_by(User.id).with_for_update()
    )
    return list(rows.all())


async def _change_guard(session: AsyncSession, me: User, target: User, action: str) -> str | None:
    if target.id == me.id:
        if action == "role":
            return _("You cannot change the role of yourself; ask another admin.")
        return _("You cannot remove yourself; ask another admin.")
    admins = await _admins_locked(session)
    if target.role == "admin" and admins == [target.id]:
        return _(
            "%(username)s is the last admin; make someone else an admin first.",
            username=target.username,
        )
    if me.id not in admins:  # demoted or removed by another admin meanwhile
        return _("You are no longer an admin.")
    return None


async def _user_change(request: Request, action: str) -> Response:
    me: User = request.state.user
    role = str(request.state.form.get("role", ""))
    if action == "role" and role not in ROLES:
        errors = {f"user-{request.path_params['id']}": _("Choose a role.")}
        return await _users_page(request, errors=errors)
    async with ctx(request).sessions() as session, session.begin():
        target = await session.get(User, request.path_params["id"])
        if target is None:
            return not_found(request, _("There is no user with that number."), "/admin/users")
        if action == "role" and target.role == role:
            return RedirectResponse("/admin/users", status_code=303)
        problem = await _change_guard(session, me, target, action)
        if problem is None and action == "role":
            audit(session, me, "user.role", f"{target.username}: {target.role} → {role}")
            target.role = role
        elif problem is None:
            audit(session, me, "user.remove", target.username)
            await end_sessions(session, target.id)
            await session.delete(target)
    if problem is not None:
        return await _users_page(request, errors={f"user-{target.id}": problem})
    return RedirectResponse(f"/admin/users?done={'role' if action == 'role' else 'removed'}", 303)


@require("admin")
async def change_role(request: Request) -> Response:
    return await _user_change(request, "role")


@require("admin")
async def remove_user(request: Request) -> Response:
    return await _user_change(request, "remove")


# -- audit log --------------------------------------------------------------------------


@require("admin")
async def audit_log(request: Request) -> Response:
    raw = request.query_params.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) < 9 else 0
    async with ctx(request).sessions() as session:
        total = int(await session.scalar(select(func.count(AuditEntry.id))) or 0)
        pages = max(1, -(-total // AUDIT_PAGE))
        if not 1 <= page <= pages:
            return not_found(request, _("There is no such page of the audit log."), "/admin/audit")
        entries = (
            await session.scalars(
                select(AuditEntry)
                .order_by(AuditEntry.id.desc())
                .limit(AUDIT_PAGE)
                .offset((page - 1) * AUDIT_PAGE)
            )
        ).all()
    rows = [(line, _utc(line.first), _utc(line.last)) for line in group_logins(entries)]
    context = {"entries": rows, "page": page, "pages": pages, "total": total}
    return render(request, "admin/audit.html", context)


def _utc(moment: datetime) -> tuple[str, str]:
    """(machine-readable, human-readable) forms of a moment, in UTC."""
    return iso_utc(moment), moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


routes = [
    Route("/admin/profile", profile, methods=["GET", "POST"]),
    Route("/admin/users", users),
    Route("/admin/users/add", add_user, methods=["POST"]),
    Route("/admin/users/{id:int}/role", change_role, methods=["POST"]),
    Route("/admin/users/{id:int}/remove", remove_user, methods=["POST"]),
    Route("/admin/audit", audit_log),
]
