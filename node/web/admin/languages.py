"""Which language the admin speaks to this request.

A signed-in user's own choice (``users.language``), else the node's default
(``TOCSIN_LANGUAGE``). Before anyone is signed in (the login pages), the
browser's ``Accept-Language``, else the node's default.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from node import i18n
from node.models import User
from node.web.context import ctx

_MAX_HEADER = 512  # longer Accept-Language headers are read only this far


def node_language(request: Request) -> str:
    """The node's default language (``TOCSIN_LANGUAGE``), English when unset."""
    return i18n.supported(getattr(ctx(request).settings, "language", None)) or "en"


def accepted_language(header: str | None) -> str | None:
    """The supported language the ``Accept-Language`` header prefers most, if any."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "")[:_MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        language = i18n.supported(tag)
        if language and weight > 0 and (best is None or (-weight, position) < best[:2]):
            best = (-weight, position, language)
    return best[2] if best else None


def speak_to(request: Request, user: User | None) -> None:
    """For the rest of this request, speak the user's language (or the browser's
    when nobody is signed in); later calls of ``speak_to_browser`` keep it."""
    if user is not None:
        chosen = i18n.supported(user.language) or node_language(request)
    else:
        chosen = accepted_language(request.headers.get("accept-language")) or node_language(request)
    i18n.set_language(chosen)
    request.state.language_chosen = True


def speak_to_browser(request: Request) -> None:
    """Unless a user's language was chosen already, speak the browser's."""
    if not getattr(request.state, "language_chosen", False):
        speak_to(request, None)


def keeps_language(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """The language an endpoint chooses ends with its request (an in-process client
    runs every request in one task, where the choice would otherwise carry over)."""

    @wraps(endpoint)
    async def speaking_for_this_request(request: Request) -> Response:
        with i18n.speaking(i18n.current_language()):
            return await endpoint(request)

    return speaking_for_this_request
