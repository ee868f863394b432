"""Reading Accept-Language, the ``lang`` cookie and ``?lang=`` (node/web/language.py)."""

from __future__ import annotations

import pytest

from node.web.language import accepted, negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("cy-GB,cy;q=0.9,en;q=0.5", ["cy", "en"]),
        ("en;q=0.4, es-MX;q=0.7, cy;q=0.7", ["es", "cy", "en"]),  # equal q: header order
        ("fr, de;q=0.9", []),
        ("*", []),
        ("cy;q=0, es", ["es"]),  # q=0: not acceptable
        ("cy;q=abc, es;q=2, en;q=0.5", ["en"]),  # nonsense q-values count for nothing
        ("", []),
        ("EN-gb", ["en"]),
    ],
)
def test_accept_language_is_read_by_q_value(header: str, expected: list[str]) -> None:
    assert accepted(header) == expected


def _scope(query: bytes = b"", **headers: str) -> dict[str, object]:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "query_string": query, "headers": raw}


def test_the_address_beats_the_cookie_which_beats_the_browser_which_beats_the_default() -> None:
    both = {"cookie": "lang=es", "accept_language": "cy"}
    assert negotiate(_scope(b"lang=cy", **both), "en") == ("cy", "cy")  # remembered
    assert negotiate(_scope(**both), "en") == ("es", None)
    assert negotiate(_scope(accept_language="cy"), "en") == ("cy", None)
    assert negotiate(_scope(), "es") == ("es", None)


def test_a_language_not_spoken_in_the_address_or_cookie_is_ignored() -> None:
    scope = _scope(b"lang=fr", cookie='lang=xx; other="a b', accept_language="fr")
    assert negotiate(scope, "cy") == ("cy", None)
    assert negotiate(_scope(b"lang=%00", cookie="lang=<script>"), "en") == ("en", None)


async def test_a_signed_in_user_language_wins_and_labels_the_answer() -> None:
    """The admin's hook: once the page knows its user, their language is the page's."""
    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from node.i18n import current_language, gettext
    from node.web.language import LanguageMiddleware, use_user_language

    async def admin_page(request: Request) -> HTMLResponse:
        use_user_language(request, request.query_params.get("user"))
        return HTMLResponse(f"{request.state.language} {gettext('Calendar')}")

    app = Starlette(
        routes=[Route("/admin", admin_page)],
        middleware=[Middleware(LanguageMiddleware, default="en")],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        welsh = await client.get("/admin?user=cy", headers={"Accept-Language": "es"})
        assert welsh.text == "cy Calendr" and welsh.headers["content-language"] == "cy"
        unset = await client.get("/admin?user=", headers={"Accept-Language": "es"})
        assert unset.text == "es Calendario" and unset.headers["content-language"] == "es"
    assert current_language() == "en"  # nothing leaks out of the request
