"""Each user's admin language: a choice of the node's languages, or the node's default.

The choice is the user's own (editors make it too), kept in ``users.language``
and read at every request (node/web/admin/languages.py). Admins also see the
form on the profile page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from node.audit import audit
from node.i18n import LANGUAGES
from node.i18n import gettext as _
from node.models import User
from node.web.admin.session import render, require
from node.web.context import ctx

NODE_DEFAULT = ""  # the form's value for "the node's default" (NULL in the table)


def language_context(user: User, *, chosen: str | None = None) -> dict[str, Any]:
    """What the language form needs: the choices and the current one."""
    current = user.language or NODE_DEFAULT if chosen is None else chosen
    return {"languages": LANGUAGES, "language": current}


def parse_language(value: object) -> tuple[str | None, str | None]:
    """(the language to store, None) or (None, an error for the person)."""
    if value == NODE_DEFAULT:
        return None, None
    if isinstance(value, str) and value in LANGUAGES:
        return value, None
    return None, _("Choose one of the languages in the list.")


@require()
async def language(request: Request) -> Response:
    user: User = request.state.user
    if request.method == "GET":
        notice = _("Language saved.") if request.query_params.get("done") == "saved" else None
        context = {**language_context(user), "notice": notice, "errors": {}}
        return render(request, "admin/language.html", context)
    given = request.state.form.get("language")
    chosen, error = parse_language(given)
    if error:
        shown = given[:16] if isinstance(given, str) else NODE_DEFAULT
        context = {**language_context(user, chosen=shown), "errors": {"language": error}}
        return render(request, "admin/language.html", context, 400)
    async with ctx(request).sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user.id).values(language=chosen))
        audit(session, user, "user.language", chosen or "default")
    back = request.state.form.get("back")
    target = "/admin/profile" if back == "profile" else "/admin/language"
    return RedirectResponse(f"{target}?done=saved", status_code=303)


routes = [Route("/admin/language", language, methods=["GET", "POST"])]
