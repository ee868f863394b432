"""Which language each request is answered in.

The public site speaks, in order: the reader's explicit choice (``?lang=`` on
the address, which the switcher's links carry and which is then remembered in
the ``lang`` cookie; or that cookie), else the best language of the browser's
``Accept-Language`` the node speaks, else the node's default
(``TOCSIN_LANGUAGE``). The admin speaks the signed-in user's choice: the admin
calls ``use_user_language`` once it knows the user, and that wins.

Every HTML answer says which language it is in (``Content-Language``) and that
it depends on the request's ``Accept-Language`` and cookies (``Vary``), so no
cache between the node and the reader hands an English page to a Welsh reader.
The node's own page cache keys pages by language (``node.web.pagecache``).
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from node import i18n

COOKIE = "lang"
COOKIE_SECONDS = 365 * 24 * 3600
MAX_HEADER = 512  # longer Accept-Language headers are read up to here
VARY = "Accept-Language, Cookie"


def accepted(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header the node speaks, best first.

    q-values are honoured (``q=0`` refuses a language); on equal q the header's
    order decides. ``*`` is ignored: it says nothing about which language.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = i18n.supported(tag)
        if language and 0 < quality <= 1:
            ranked.append((-quality, position, language))
    seen: list[str] = []
    for _, _, language in sorted(ranked):
        if language not in seen:
            seen.append(language)
    return seen


def _cookie(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    try:
        morsel = SimpleCookie(raw).get(COOKIE)
    except CookieError:  # a malformed cookie header: as if there were none
        return None
    return i18n.supported(morsel.value) if morsel else None


def _asked(query_string: bytes) -> str | None:
    values = parse_qs(query_string.decode("latin-1"), max_num_fields=20).get("lang")
    return i18n.supported(values[0]) if values else None


def negotiate(scope: Scope, default: str) -> tuple[str, str | None]:
    """The request's language, and the language to remember in the cookie (if asked)."""
    headers = dict(scope.get("headers", []))
    asked = _asked(scope.get("query_string", b""))
    if asked:
        return asked, asked
    chosen = _cookie(headers)
    if chosen:
        return chosen, None
    browser = accepted(headers.get(b"accept-language", b"").decode("latin-1"))
    return (browser[0] if browser else default), None


def use_user_language(request: Request, language: str | None) -> None:
    """For the admin: the signed-in user's choice wins over everything else."""
    chosen = i18n.supported(language)
    if chosen:
        request.state.language = chosen
        i18n.set_language(chosen)


def cookie_header(language: str, secure: bool) -> bytes:
    flags = f"Path=/; Max-Age={COOKIE_SECONDS}; SameSite=Lax; HttpOnly"
    return f"{COOKIE}={language}; {flags}{'; Secure' if secure else ''}".encode("latin-1")


class LanguageMiddleware:
    """Sets the language for the request; labels HTML answers with it."""

    def __init__(self, app: ASGIApp, default: str, secure: bool = False) -> None:
        self.app = app
        self.default = i18n.supported(default) or i18n.SOURCE_LANGUAGE
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language, remember = negotiate(scope, self.default)
        scope.setdefault("state", {})["language"] = language

        async def send_labelled(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                kind = dict(headers).get(b"content-type", b"")
                if kind.startswith(b"text/html"):
                    spoken = i18n.current_language().encode("latin-1")
                    if b"content-language" not in names:
                        headers.append((b"content-language", spoken))
                    if b"vary" not in names:
                        headers.append((b"vary", VARY.encode("latin-1")))
                if remember:
                    headers.append((b"set-cookie", cookie_header(remember, self.secure)))
                message["headers"] = headers
            await send(message)

        with i18n.speaking(language):  # for this request only, whatever runs it
            await self.app(scope, receive, send_labelled)
