"""Who is logged in, CSRF tokens, and the guard every admin route goes through.

Sessions live in a signed, HttpOnly, SameSite=Lax cookie (Secure when the
node is served over https). A session names the user and the user's session
epoch: changing the password bumps the epoch and ends every other session.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.models import User
from node.settings_store import get_setting
from node.web.context import ctx
from node.web.public import templates

Endpoint = Callable[[Request], Awaitable[Response]]

USER = "uid"
EPOCH = "epoch"
STAGE = "stage"  # "totp" while the second factor is pending, "ok" when logged in
CSRF = "csrf"
CSRF_FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF)
    if not token:
        token = request.session[CSRF] = secrets.token_urlsafe(32)
    return str(token)


def csrf_valid(request: Request, form: FormData) -> bool:
    expected = request.session.get(CSRF)
    given = form.get(CSRF_FIELD)
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


def start_session(request: Request, user: User, *, stage: str) -> None:
    """A fresh session (no fixation): everything from before login is dropped."""
    request.session.clear()
    request.session.update({USER: user.id, EPOCH: user.session_epoch, STAGE: stage})
    csrf_token(request)


async def session_user(request: Request, *, stage: str = "ok") -> User | None:
    uid = request.session.get(USER)
    if not isinstance(uid, int) or request.session.get(STAGE) != stage:
        return None
    async with ctx(request).sessions() as session:
        user = await session.get(User, uid)
    if user is None or user.session_epoch != request.session.get(EPOCH):
        request.session.clear()
        return None
    return user


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
        {"status_code": 403, "title": "Not allowed", "message": message},
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
                return forbidden(request, "Only admins can use this page.")
            if request.method == "POST":
                form = await request.form()
                if not csrf_valid(request, form):
                    return forbidden(request, "The form expired or did not come from this site.")
                request.state.form = form
            return await endpoint(request)

        return guarded

    return decorate
