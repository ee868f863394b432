"""What every public page shares: the node as its pages name it, the calendar's
filters, request parameters made safe for the database, and rendering.

Pages are revalidated on every visit (``Cache-Control: public, no-cache`` and an
ETag): a cancelled callout or an edited event must never show its old state, to
readers or to the editor who just changed it. The server keeps rendered pages
(``node.web.pagecache``) only while the database's change counters say they
are current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from node import i18n
from node.context import NodeContext
from node.i18n import gettext as _
from node.identity import chosen_name, group_actor
from node.web.language import VARY
from node.web.pagecache import Rendered
from node.web.templating import make_templates

templates = make_templates()

PAGE_CACHE = "public, no-cache"
HTML_TYPE = "text/html; charset=utf-8"
MAX_PAGE = 20


@dataclass(frozen=True)
class Site:
    """The node as its pages name it."""

    name: str
    summary: str
    handle: str
    actor_url: str
    base: str
    host: str
    updated: datetime


@dataclass(frozen=True)
class Filters:
    """The calendar's ``?node=`` and ``?tag=``, normalised."""

    node: str = ""
    tag: str = ""

    def query(self, **extra: Any) -> str:
        values = {"node": self.node, "tag": self.tag, **extra}
        encoded = urlencode({k: v for k, v in values.items() if v})
        return f"?{encoded}" if encoded else ""


async def site_of(session: AsyncSession, context: NodeContext) -> Site:
    actor = await group_actor(session)
    host = context.settings.host
    return Site(
        name=chosen_name(actor) or f"@{actor.username}@{host}",
        summary=actor.summary,
        handle=f"@{actor.username}@{host}",
        actor_url=context.urls.actor(actor.username),
        base=context.urls.base,
        host=host,
        updated=actor.updated_at,
    )


def node_feeds() -> list[dict[str, str]]:
    return [
        {"type": "text/calendar", "title": _("Events (iCalendar)"), "href": "/events.ics"},
        {"type": "application/atom+xml", "title": _("Events (Atom)"), "href": "/events.atom"},
        {"type": "application/atom+xml", "title": _("Callouts (Atom)"), "href": "/callouts.atom"},
    ]


def language_headers() -> dict[str, str]:
    """The page is in the current language, chosen from these request headers."""
    return {"Content-Language": i18n.current_language(), "Vary": VARY}


def _page_values(values: dict[str, Any]) -> dict[str, Any]:
    return {"now": datetime.now(UTC), "feeds": node_feeds(), **values}


def render_page(
    template: str,
    values: dict[str, Any],
    *,
    expires: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> Rendered:
    """A public page's bytes, with the node's feeds advertised, ready to keep."""
    body = templates.get_template(template).render(_page_values(values)).encode("utf-8")
    all_headers = {"Cache-Control": PAGE_CACHE, **language_headers(), **(headers or {})}
    return Rendered(body, HTML_TYPE, all_headers, expires=expires)


def page(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A public page made for this one request (not kept)."""
    all_headers = {"Cache-Control": PAGE_CACHE, **language_headers(), **(headers or {})}
    return templates.TemplateResponse(
        request, template, _page_values(values), status_code=status_code, headers=all_headers
    )


def param(text: str, limit: int) -> str:
    """A query or path value fit for a database parameter: no control characters."""
    return "".join(c for c in text if c.isprintable()).strip()[:limit]


def normal_tag(text: str) -> str:
    return param(text, 60).lstrip("#").lower()[:50]


def row_id(text: str) -> int | None:
    """A database id from a path: plain ASCII digits that fit a BIGINT, else None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def filters_of(request: Request) -> Filters:
    node = param(request.query_params.get("node", ""), 255).lower()
    return Filters(node=node, tag=normal_tag(request.query_params.get("tag", "")))


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return MAX_PAGE if len(raw) > 6 else min(max(int(raw), 1), MAX_PAGE)
