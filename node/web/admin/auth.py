"""Logging in and out, the second factor (TOTP), and changing one's password."""

from __future__ import annotations

from datetime import datetime

import pyotp
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.audit import audit
from node.models import User
from node.users import UserError, check_password, hash_password, validate_new_password
from node.web.admin.session import (
    STAGE,
    csrf_valid,
    forbidden,
    render,
    require,
    session_user,
    start_session,
)
from node.web.admin.throttle import LoginThrottle
from node.web.context import ctx

# Verifying against this when the account does not exist costs the same time as a
# real check, so response times do not reveal which usernames exist.
_DUMMY_HASH = hash_password("not a real password, only for timing")


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(value: object) -> str:
    if isinstance(value, str) and value.startswith("/admin") and "//" not in value:
        return value
    return "/admin"


async def login(request: Request) -> Response:
    if await session_user(request) is not None:
        return RedirectResponse("/admin", status_code=303)
    if request.method == "GET":
        return render(request, "admin/login.html", {"next": request.query_params.get("next", "")})
    form = await request.form()
    if not csrf_valid(request, form):
        return forbidden(request, "The form expired; reload the page and try again.")
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    context = {"next": form.get("next", ""), "username": username}
    wait = _throttle(request).retry_after(username, _client(request))
    if wait:
        minutes = max(1, round(wait / 60))
        context["error"] = f"Too many failed attempts. Try again in about {minutes} minute(s)."
        return render(request, "admin/login.html", context, status=429)
    async with ctx(request).sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    if not check_password(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        _throttle(request).failed(username, _client(request))
        context["error"] = "That username and password do not match."
        return render(request, "admin/login.html", context, status=401)
    _throttle(request).succeeded(username)
    if user.totp_secret:
        start_session(request, user, stage="totp")
        request.session["next"] = _safe_next(form.get("next"))
        return RedirectResponse("/admin/login/totp", status_code=303)
    start_session(request, user, stage="ok")
    async with ctx(request).sessions() as session, session.begin():
        audit(session, user, "login")
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


def totp_step(secret: str, code: str, last_step: int) -> int | None:
    """The time step ``code`` is valid for (±1 step of clock drift), if it is newer
    than ``last_step``: a code works once."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(datetime.now())
    for step in (now_step - 1, now_step, now_step + 1):
        if step > last_step and totp.generate_otp(step) == code:
            return step
    return None


async def login_totp(request: Request) -> Response:
    user = await session_user(request, stage="totp")
    if user is None or not user.totp_secret:
        return RedirectResponse("/admin/login", status_code=303)
    if request.method == "GET":
        return render(request, "admin/login_totp.html")
    form = await request.form()
    if not csrf_valid(request, form):
        return forbidden(request, "The form expired; reload the page and try again.")
    if _throttle(request).retry_after(user.username, _client(request)):
        return render(
            request, "admin/login_totp.html", {"error": "Too many attempts; wait and retry."}, 429
        )
    step = totp_step(user.totp_secret, str(form.get("code", "")), user.totp_last_step)
    if step is None:
        _throttle(request).failed(user.username, _client(request))
        return render(
            request, "admin/login_totp.html", {"error": "That code is not valid."}, status=401
        )
    async with ctx(request).sessions() as session, session.begin():
        fresh = await session.get(User, user.id)
        assert fresh is not None
        fresh.totp_last_step = step
        audit(session, fresh, "login")
    next_url = _safe_next(request.session.get("next"))
    request.session.pop("next", None)
    request.session[STAGE] = "ok"
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_valid(request, form):
        return forbidden(request, "The form expired; reload the page and try again.")
    request.session.clear()
    return RedirectResponse("/admin/login", status_code=303)


@require("editor")
async def change_password(request: Request) -> Response:
    user: User = request.state.user
    if request.method == "GET":
        return render(request, "admin/password.html")
    form = request.state.form
    current, new = str(form.get("current", "")), str(form.get("new", ""))
    errors: dict[str, str] = {}
    if not check_password(user.password_hash, current):
        errors["current"] = "This is not your current password."
    try:
        validate_new_password(new)
    except UserError as exc:
        errors["new"] = str(exc).capitalize() + "."
    if new != str(form.get("confirm", "")):
        errors["confirm"] = "The two new passwords differ."
    if not errors and new == current:
        errors["new"] = "Choose a password different from the current one."
    if errors:
        return render(request, "admin/password.html", {"errors": errors}, status=400)
    async with ctx(request).sessions() as session, session.begin():
        fresh = await session.get(User, user.id)
        assert fresh is not None
        fresh.password_hash = hash_password(new)
        fresh.must_change_password = False
        fresh.session_epoch += 1  # every other session of this account ends
        audit(session, fresh, "password.change")
    start_session(request, fresh, stage="ok")
    return RedirectResponse("/admin?changed=password", status_code=303)


@require("editor")
async def totp_settings(request: Request) -> Response:
    user: User = request.state.user
    if request.method == "GET":
        return render(request, "admin/totp.html", _totp_context(request, user))
    form = request.state.form
    action = form.get("action")
    async with ctx(request).sessions() as session, session.begin():
        fresh = await session.get(User, user.id)
        assert fresh is not None
        if action == "enable" and not fresh.totp_secret:
            secret = request.session.get("pending_totp")
            step = totp_step(secret, str(form.get("code", "")), 0) if secret else None
            if step is None:
                context = {**_totp_context(request, user), "error": "That code is not valid."}
                return render(request, "admin/totp.html", context, status=400)
            fresh.totp_secret, fresh.totp_last_step = secret, step
            request.session.pop("pending_totp", None)
            audit(session, fresh, "totp.enable")
        elif action == "disable" and fresh.totp_secret:
            step = totp_step(fresh.totp_secret, str(form.get("code", "")), fresh.totp_last_step)
            if step is None:
                context = {**_totp_context(request, user), "error": "That code is not valid."}
                return render(request, "admin/totp.html", context, status=400)
            fresh.totp_secret, fresh.totp_last_step = None, 0
            audit(session, fresh, "totp.disable")
    return RedirectResponse("/admin/totp", status_code=303)


def _totp_context(request: Request, user: User) -> dict[str, object]:
    if user.totp_secret:
        return {"enabled": True}
    secret = request.session.get("pending_totp") or pyotp.random_base32()
    request.session["pending_totp"] = secret
    host = ctx(request).settings.host
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=f"Tocsin {host}")
    return {"enabled": False, "secret": secret, "uri": uri}


routes = [
    Route("/admin/login", login, methods=["GET", "POST"]),
    Route("/admin/login/totp", login_totp, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/password", change_password, methods=["GET", "POST"]),
    Route("/admin/totp", totp_settings, methods=["GET", "POST"]),
]
