"""Headers every response carries: a strict CSP, no sniffing, no referrers leaking
who read what, and CORS on discovery documents (RFC 7033 section 5).

The header list is built once; a response that sets none of these headers (all of
them, in practice) gets them appended without a per-response set being built.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self' https: http:; "
    "worker-src 'self'; manifest-src 'self'"
)

BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
CORS_HEADER = (b"access-control-allow-origin", b"*")
_NAMES = frozenset(name for name, _ in BASE_HEADERS)


def _with_security_headers(
    headers: list[tuple[bytes, bytes]], cors: bool
) -> list[tuple[bytes, bytes]]:
    if any(name.lower() in _NAMES for name, _ in headers):
        present = {name.lower() for name, _ in headers}
        added = [h for h in BASE_HEADERS if h[0] not in present]
    else:
        added = BASE_HEADERS
    return [*headers, *added, CORS_HEADER] if cors else [*headers, *added]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        cors = path.startswith(("/.well-known/", "/nodeinfo/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                message["headers"] = _with_security_headers(list(headers), cors)
            await send(message)

        await self.app(scope, receive, send_with_headers)
