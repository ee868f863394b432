"""Response helpers: AS2 JSON, content negotiation, errors a person can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

AS2_TYPE = "application/activity+json"
AS2_ACCEPT_MARKERS = ("application/activity+json", "application/ld+json", "application/json")


class ActivityJSONResponse(Response):
    media_type = AS2_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def wants_activity_json(request: Request) -> bool:
    """True when the client asked for ActivityStreams rather than a web page."""
    accept = request.headers.get("accept", "").lower()
    return any(marker in accept for marker in AS2_ACCEPT_MARKERS)


def as2_response(doc: dict[str, Any], *, vary: bool = True, max_age: int = 60) -> Response:
    headers = {"Cache-Control": f"public, max-age={max_age}"}
    if vary:
        headers["Vary"] = "Accept"
    return ActivityJSONResponse(doc, headers=headers)


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=headers)
