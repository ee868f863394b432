"""What the federation admin pages say back after a form, shared by them all.

The follow pages and the block pages answer the same way: a change redirects
with ``?done=<code>`` (so a reload does not post again) and the page then shows
that code's notice; a row that is not there gets the not-found page, which the
people pages use too. One table of codes keeps the messages in one voice and
lets ``federation.py`` gather both page modules' routes without an import cycle.
"""

from __future__ import annotations

from babel.support import LazyProxy
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.i18n import lazy_gettext
from node.web.admin.session import render

NOTICES = {
    "follow-sent": lazy_gettext(
        "Follow request sent. It stays pending until the other node accepts it."
    ),
    "unfollowed": lazy_gettext("Unfollowed; the other node is being told."),
    "approved": lazy_gettext("Follower approved; they are being told."),
    "rejected": lazy_gettext("Follow request refused; they are being told."),
    "removed": lazy_gettext("Follower removed; they are being told."),
    "blocked": lazy_gettext(
        "Server blocked: its followers and follows are gone and it is refused."
    ),
    "unblocked": lazy_gettext("Server unblocked."),
    "allowlist-on": lazy_gettext(
        "Allow-list-only mode is on: only the servers listed below can federate."
    ),
    "allowlist-off": lazy_gettext(
        "Allow-list-only mode is off: every server that is not blocked can federate."
    ),
    "allowed": lazy_gettext("Server added to the allow list."),
    "disallowed": lazy_gettext("Server removed from the allow list."),
}


def notice(request: Request) -> LazyProxy | None:
    return NOTICES.get(request.query_params.get("done", ""))


def done(path: str, what: str) -> Response:
    return RedirectResponse(f"{path}?done={what}", status_code=303)


def not_found(request: Request, message: str, back: str) -> Response:
    return render(request, "admin/not_found.html", {"message": message, "back": back}, 404)


def form_text(value: object, limit: int = 500) -> str:
    return str(value or "").strip()[:limit]
