"""Logging in and out, the second factor (TOTP), and changing one's password."""

from __future__ import annotations

from datetime import datetime

import pyotp
import segno
from sqlalchemy import select, update
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.audit import audit
from node.i18n import gettext as _
from node.i18n import ngettext
from node.models import LoginSession, User
from node.users import (
    UserError,
    check_password,
    count_recovery_codes,
    drop_recovery_codes,
    hash_password,
    new_recovery_codes,
    use_recovery_code,
    validate_new_password,
)
from node.web.admin.session import (
    csrf_valid,
    current_session,
    end_session,
    end_sessions,
    forbidden,
    render,
    require,
    session_key,
    session_user,
    start_session,
)
from node.web.admin.throttle import LoginThrottle
from node.web.clients import client_key
from node.web.context import ctx

# Verifying against this when the account does not exist costs the same time as a
# real check, so response times do not reveal which usernames exist.
_DUMMY_HASH = hash_password("not a real password, only for timing")
MAX_CODES = 5  # wrong codes in one login before the password must be given again


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _client(request: Request) -> str:
    return client_key(request.client.host if request.client else None)


def _wait_message(what: str, seconds: int) -> str:
    """``what`` (a sentence, translated) and when to try again."""
    if seconds < 120:
        when = ngettext("Try again in %(num)d second.", "Try again in %(num)d seconds.", seconds)
    else:
        minutes = round(seconds / 60)
        when = ngettext(
            "Try again in about %(num)d minute.", "Try again in about %(num)d minutes.", minutes
        )
    return f"{what} {when}"


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
        return forbidden(request, _("The form expired; reload the page and try again."))
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    context = {"next": form.get("next", ""), "username": username}
    wait = _throttle(request).password_wait(username, _client(request))
    if wait:
        context["error"] = _wait_message(_("Too many failed attempts."), wait)
        return render(request, "admin/login.html", context, status=429)
    async with ctx(request).sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    if not check_password(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        _throttle(request).password_failed(username, _client(request))
        context["error"] = _("That username and password do not match.")
        return render(request, "admin/login.html", context, status=401)
    _throttle(request).password_ok(username, _client(request))
    if user.totp_secret:
        await start_session(request, user, stage="totp")
        request.session["next"] = _safe_next(form.get("next"))
        return RedirectResponse("/admin/login/totp", status_code=303)
    await start_session(request, user, stage="ok")
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
    found = await current_session(request)
    if found is None or found[0].stage != "totp" or not found[1].totp_secret:
        return RedirectResponse("/admin/login", status_code=303)
    pending, user = found
    if request.method == "GET":
        return render(request, "admin/login_totp.html")
    form = await request.form()
    if not csrf_valid(request, form):
        return forbidden(request, _("The form expired; reload the page and try again."))
    wait = _throttle(request).code_wait(user.username, _client(request))
    if wait:
        error = _wait_message(_("Too many wrong codes for this account."), wait)
        return render(request, "admin/login_totp.html", {"error": error}, 429)
    assert user.totp_secret
    code = str(form.get("code", ""))
    step = totp_step(user.totp_secret, code, user.totp_last_step)
    left = None
    async with ctx(request).sessions() as session, session.begin():
        if step is None:
            left = await use_recovery_code(session, user.id, code)
        if step is not None or left is not None:
            fresh = await session.get(User, user.id)
            assert fresh is not None
            fresh.totp_last_step = step if step is not None else fresh.totp_last_step
            audit(session, fresh, "login", "" if left is None else "recovery code")
    if step is None and left is None:
        return await _wrong_code(request, pending, user)
    _throttle(request).code_ok(user.username)
    next_url = _safe_next(request.session.get("next"))
    await start_session(request, user, stage="ok")  # a new token once fully logged in
    if left is not None:  # say what is left of the codes before going on
        context = {"left": left, "next": next_url, "user": user}
        return render(request, "admin/recovery_used.html", context)
    return RedirectResponse(next_url, status_code=303)


async def _wrong_code(request: Request, pending: LoginSession, user: User) -> Response:
    """Count a wrong code; after ``MAX_CODES`` the pending login is dropped."""
    _throttle(request).code_failed(user.username, _client(request))
    if pending.code_failures + 1 >= MAX_CODES:
        await end_session(request)
        error = _("%(count)s wrong codes: log in again with your password.", count=MAX_CODES)
        return render(request, "admin/login.html", {"error": error}, status=401)
    async with ctx(request).sessions() as session, session.begin():
        await session.execute(
            update(LoginSession)
            .where(LoginSession.id == pending.id)
            .values(code_failures=LoginSession.code_failures + 1)
        )
    error = _("That code is not valid.")
    return render(request, "admin/login_totp.html", {"error": error}, status=401)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_valid(request, form):
        return forbidden(request, _("The form expired; reload the page and try again."))
    await end_session(request)
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
        errors["current"] = _("This is not your current password.")
    try:
        validate_new_password(new)
    except UserError as exc:
        errors["new"] = str(exc).capitalize() + "."
    if new != str(form.get("confirm", "")):
        errors["confirm"] = _("The two new passwords differ.")
    if not errors and new == current:
        errors["new"] = _("Choose a password different from the current one.")
    if errors:
        return render(request, "admin/password.html", {"errors": errors}, status=400)
    async with ctx(request).sessions() as session, session.begin():
        fresh = await session.get(User, user.id)
        assert fresh is not None
        fresh.password_hash = hash_password(new)
        fresh.must_change_password = False
        await end_sessions(session, fresh.id)  # every session of this account ends
        audit(session, fresh, "password.change")
    await start_session(request, fresh, stage="ok")
    return RedirectResponse("/admin?changed=password", status_code=303)


@require("editor")
async def totp_settings(request: Request) -> Response:
    user: User = request.state.user
    if request.method == "GET":
        return render(request, "admin/totp.html", await _totp_context(request, user))
    form = request.state.form
    action = form.get("action")
    if action == "enable" and not user.totp_secret:
        return await _enable_totp(request, user, form)
    if action == "recovery" and user.totp_secret:
        return await _renew_recovery_codes(request, user, form)
    if action == "disable" and user.totp_secret:
        step = totp_step(user.totp_secret, str(form.get("code", "")), user.totp_last_step)
        if step is None:
            return await _totp_error(request, user, _("That code is not valid."))
        async with ctx(request).sessions() as session, session.begin():
            fresh = await session.get(User, user.id)
            assert fresh is not None
            fresh.totp_secret, fresh.totp_last_step = None, 0
            await drop_recovery_codes(session, user.id)
            await end_sessions(session, user.id, keep=session_key(request))
            audit(session, fresh, "totp.disable")
    return RedirectResponse("/admin/totp", status_code=303)


async def _enable_totp(request: Request, user: User, form: FormData) -> Response:
    """Turn two-factor on: the password again, then a code from the pending secret
    (kept in this session's row, never in the cookie)."""
    refused = await _password_again(
        request, user, form, _("That is not your password; two-factor stays off.")
    )
    if refused is not None:
        return refused
    key = session_key(request)
    async with ctx(request).sessions() as session, session.begin():
        row = await session.get(LoginSession, key)
        secret = row.pending_totp if row else None
        step = totp_step(secret, str(form.get("code", "")), 0) if secret else None
        if row is None or step is None:
            return await _totp_error(request, user, _("That code is not valid."))
        fresh = await session.get(User, user.id)
        assert fresh is not None
        fresh.totp_secret, fresh.totp_last_step = secret, step
        row.pending_totp = None
        await end_sessions(session, user.id, keep=key)
        codes = await new_recovery_codes(session, user.id)
        audit(session, fresh, "totp.enable")
    return render(request, "admin/totp.html", {"enabled": True, "codes": codes})


async def _password_again(
    request: Request, user: User, form: FormData, otherwise: str
) -> Response | None:
    """None when ``form`` carries the user's password; else the page saying ``otherwise``."""
    client = _client(request)
    wait = _throttle(request).password_wait(user.username, client)
    if wait:
        return await _totp_error(
            request, user, _wait_message(_("Too many wrong passwords."), wait), 429
        )
    if not check_password(user.password_hash, str(form.get("password", ""))):
        _throttle(request).password_failed(user.username, client)
        return await _totp_error(request, user, otherwise)
    return None


async def _renew_recovery_codes(request: Request, user: User, form: FormData) -> Response:
    """Ten new recovery codes, shown once; the old ones stop working."""
    refused = await _password_again(
        request, user, form, _("That is not your password; the codes stay as they were.")
    )
    if refused is not None:
        return refused
    async with ctx(request).sessions() as session, session.begin():
        codes = await new_recovery_codes(session, user.id)
        audit(session, user, "totp.recovery_codes")
    return render(request, "admin/totp.html", {"enabled": True, "codes": codes})


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as inline SVG (drawn here: nothing is fetched, and the
    SVG has no style attribute, so the page's CSP stays as it is)."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        title=_("QR code for your authenticator app"),
        svgclass="qr",
        lineclass=None,
    )
    return svg


async def _totp_error(request: Request, user: User, error: str, status: int = 400) -> Response:
    context = {**await _totp_context(request, user), "error": error}
    return render(request, "admin/totp.html", context, status=status)


async def _totp_context(request: Request, user: User) -> dict[str, object]:
    if user.totp_secret:
        async with ctx(request).sessions() as session:
            return {"enabled": True, "remaining": await count_recovery_codes(session, user.id)}
    async with ctx(request).sessions() as session, session.begin():
        row = await session.get(LoginSession, session_key(request))
        assert row is not None  # the guard found it
        if not row.pending_totp:
            row.pending_totp = pyotp.random_base32()
        secret = row.pending_totp
    host = ctx(request).settings.host
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=f"Tocsin {host}")
    return {"enabled": False, "secret": secret, "uri": uri, "qr": qr_svg(uri)}


routes = [
    Route("/admin/login", login, methods=["GET", "POST"]),
    Route("/admin/login/totp", login_totp, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/password", change_password, methods=["GET", "POST"]),
    Route("/admin/totp", totp_settings, methods=["GET", "POST"]),
]
