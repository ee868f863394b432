"""What the federation admin pages say back after a form, shared by them all.

The follow pages and the block pages answer the same way: a change redirects
with ``?done=<code>`` (so a reload does not post again) and the page then shows
that code's notice; a row that is not there gets the not-found page, which the
people pages use too. One table of codes keeps the messages in one voice and
lets ``federation.py`` gather both page modules' routes without an import cycle.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from node.web.admin.session import render

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


def notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def done(path: str, what: str) -> Response:
    return RedirectResponse(f"{path}?done={what}", status_code=303)


def not_found(request: Request, message: str, back: str) -> Response:
    return render(request, "admin/not_found.html", {"message": message, "back": back}, 404)


def form_text(value: object, limit: int = 500) -> str:
    return str(value or "").strip()[:limit]
