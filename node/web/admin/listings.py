"""How events and callouts appear in the admin lists: one row per item with its
dates, place and state, the notice after a change, and the list page itself
(409 with the reason when a change was refused)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from babel.support import LazyProxy
from starlette.requests import Request
from starlette.responses import Response

from node.content.models import Callout, Event
from node.content.text import format_moment, format_when, format_where
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.web.admin.session import render

PAST_SHOWN = 50
"""How many past events (or ended callouts) a list shows below the current ones."""
NOTICES: dict[str, dict[str, LazyProxy]] = {
    "event": {
        "created": lazy_gettext("Event published; followers are being told."),
        "updated": lazy_gettext("Event updated; followers are being told."),
        "cancelled": lazy_gettext("Event cancelled; followers are being told."),
        "deleted": lazy_gettext("Event deleted; followers are being told."),
    },
    "callout": {
        "created": lazy_gettext("Callout published; followers are being told."),
        "updated": lazy_gettext("Callout updated; followers are being told."),
        "cancelled": lazy_gettext("Callout cancelled; followers are being told."),
        "closed": lazy_gettext("Callout closed: all clear; followers are being told."),
        "confirmed": lazy_gettext(
            "Callout confirmed: GO; followers and confirmed responders are being told."
        ),
        "enough": lazy_gettext("Callout marked enough people; followers are being told."),
        "reopened": lazy_gettext("Callout reopened: more people needed; followers are being told."),
        "false-alarm": lazy_gettext("Callout marked a false alarm; followers are being told."),
        "deleted": lazy_gettext("Callout deleted; followers are being told."),
    },
}


@dataclass(frozen=True)
class Row:
    item: Event | Callout
    when: str
    where: str
    state: str  # scheduled | cancelled | past | unverified | open | enough | met | … | expired


def when(item: Event | Callout) -> str:
    """An event's dates, or the time a callout runs until, in the item's own zone."""
    if isinstance(item, Event):
        return format_when(item.starts_at, item.ends_at, item.timezone, item.all_day)
    return _("until %(moment)s", moment=format_moment(item.ends_at, item.timezone))


def row(item: Event | Callout, now: datetime) -> Row:
    """The list row of ``item``; a scheduled or open item whose end has passed shows as over."""
    where = format_where(item.location_name, item.location_address, item.online_url)
    state = item.status
    if state in ("scheduled", "open") and item.ends_at <= now:
        state = "past" if isinstance(item, Event) else "expired"
    return Row(item, when(item), where, state)


def safe_link(url: str | None) -> str | None:
    """A remote address fit for an ``href``: plain web links only."""
    return url if url and url.startswith(("https://", "http://")) else None


def notice(request: Request, noun: str) -> str | None:
    """What the last change did, from the ``?done=`` code its redirect carried."""
    said = NOTICES.get(noun, {}).get(request.query_params.get("done", ""))
    return str(said) if said is not None else None


def list_page(
    request: Request,
    template: str,
    noun: str,
    rows: dict[str, list[Row]],
    error: str | None,
    extra: Mapping[str, object] | None = None,
) -> Response:
    """The list of ``noun``s: 200, or 409 with ``error`` when a change was refused."""
    context = {**rows, "notice": notice(request, noun), "error": error, **(extra or {})}
    return render(request, template, context, status=409 if error else 200)
