"""Who is logged in, CSRF tokens, and the guard every admin route goes through.

The signed, HttpOnly, SameSite=Lax cookie (Secure over https) holds only a random
token and the CSRF token; the session itself is a row of ``sessions`` keyed by the
token's SHA-256. Deleting the row ends the session, for a copied cookie too:
logging out, removing the user, changing the password or two-factor settings do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.i18n import gettext as _
from node.models import LoginSession, User, utcnow
from node.settings_store import get_setting
from node.web.admin.languages import speak_to
from node.web.context import ctx
from node.web.public import templates

Endpoint = Callable[[Request], Awaitable[Response]]

SID = "sid"
CSRF = "csrf"
CSRF_FIELD = "csrf_token"
IDLE = timedelta(hours=12)  # unused this long, a session ends (the cookie's max age too)
LONGEST = timedelta(days=7)  # and none lasts longer than this
PENDING = timedelta(minutes=10)  # to type the second factor after the password
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not token:
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


def csrf_valid(request: Request, form: FormData) -> bool:
    expected = request.session.get(CSRF)
    given = form.get(CSRF_FIELD)
    if not (isinstance(expected, str) and expected and isinstance(given, str)):
        return False
    return hmac.compare_digest(expected, given)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _alive(row: LoginSession, now: datetime) -> bool:
    if row.stage == "totp" and now - row.created_at > PENDING:
        return False
    return now - row.last_seen_at <= IDLE and now - row.created_at <= LONGEST


def session_key(request: Request) -> str | None:
    """The ``sessions`` row id of this browser, if its cookie names one."""
    token = request.session.get(SID)
    return _digest(token) if isinstance(token, str) else None


async def purge_expired(session: AsyncSession) -> None:
    now = utcnow()
    await session.execute(
        delete(LoginSession).where(
            or_(
                LoginSession.last_seen_at < now - IDLE,
                LoginSession.created_at < now - LONGEST,
                and_(LoginSession.stage == "totp", LoginSession.created_at < now - PENDING),
            )
        )
    )


async def end_sessions(session: AsyncSession, user_id: int, *, keep: str | None = None) -> None:
    """End every session of ``user_id`` (but ``keep``, the one in use)."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    await session.execute(query)


async def start_session(request: Request, user: User, *, stage: str) -> None:
    """A fresh session (no fixation): the browser's previous one ends, everything
    from before login is dropped from the cookie."""
    token = secrets.token_urlsafe(32)
    old = session_key(request)
    async with ctx(request).sessions() as session, session.begin():
        await purge_expired(session)
        if old is not None:
            await session.execute(delete(LoginSession).where(LoginSession.id == old))
        session.add(LoginSession(id=_digest(token), user_id=user.id, stage=stage))
    request.session.clear()
    request.session[SID] = token
    csrf_token(request)


async def end_session(request: Request) -> None:
    key = session_key(request)
    if key is not None:
        async with ctx(request).sessions() as session, session.begin():
            await session.execute(delete(LoginSession).where(LoginSession.id == key))
    request.session.clear()


async def current_session(request: Request) -> tuple[LoginSession, User] | None:
    """This browser's live session and its user, or None (a dead one is forgotten)."""
    key = session_key(request)
    if key is None:
        return None
    now = utcnow()
    async with ctx(request).sessions() as session, session.begin():
        found = (
            await session.execute(
                select(LoginSession, User).join(User).where(LoginSession.id == key)
            )
        ).first()
        if found is None or not _alive(found[0], now):
            request.session.clear()
            return None
        row, user = found
        speak_to(request, user)
        if now - row.last_seen_at > TOUCH_EVERY:
            await session.execute(
                update(LoginSession).where(LoginSession.id == key).values(last_seen_at=now)
            )
    return row, user


async def session_user(request: Request, *, stage: str = "ok") -> User | None:
    found = await current_session(request)
    if found is None or found[0].stage != stage:
        return None
    return found[1]


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    values = {
        "user": getattr(request.state, "user", None),
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def forbidden(request: Request, message: str) -> Response:
    return render(
        request,
        "error.html",
        {"status_code": 403, "title": _("Not allowed"), "message": message},
        status=403,
    )


async def _needs_totp_enrolment(request: Request, user: User) -> bool:
    if user.role != "admin" or user.totp_secret:
        return False
    async with ctx(request).sessions() as session:
        return bool(await get_setting(session, "require_totp_for_admins", False))


def require(role: str = "editor") -> Callable[[Endpoint], Endpoint]:
    """Guard an admin endpoint: logged in, password changed, 2FA if required,
    the right role, and a valid CSRF token on every POST."""

    def decorate(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        async def guarded(request: Request) -> Response:
            user = await session_user(request)
            path = request.url.path
            if user is None:
                return RedirectResponse(f"/admin/login?next={quote(path)}", status_code=303)
            request.state.user = user
            if user.must_change_password and path != "/admin/password":
                return RedirectResponse("/admin/password", status_code=303)
            if path != "/admin/totp" and await _needs_totp_enrolment(request, user):
                return RedirectResponse("/admin/totp", status_code=303)
            if role == "admin" and user.role != "admin":
                return forbidden(request, _("Only admins can use this page."))
            if request.method == "POST":
                form = await request.form()
                if not csrf_valid(request, form):
                    return forbidden(request, _("The form expired or did not come from this site."))
                request.state.form = form
            return await endpoint(request)

        return guarded

    return decorate
