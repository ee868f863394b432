"""The text of one alert: what a person reads on a lock screen or in a mailbox.

An alert says what changed, the title, what is needed, when, the area and a
link. It never carries what the callout page keeps for the people confirmed to
come: ``PRIVATE_FIELDS`` lists those columns, and nothing here reads them (the
tests check every alert against every one of them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from node.alerts.words import words_for
from node.content.models import Callout, Event
from node.content.text import format_moment, format_when, people, urgency_word
from node.i18n import gettext as _

PRIVATE_FIELDS = ("location_address", "contact", "private_address", "latitude", "longitude")
"""Columns an alert never shows (the exact place, how to reach the organisers);
``private_address`` is the dispatch's, on callouts that have it."""

MAX_PUSH_BODY = 1500  # characters: an encrypted push message holds about 4 KB


@dataclass(frozen=True)
class AlertText:
    title: str
    lines: tuple[str, ...]
    url: str
    tag: str  # one notification per callout: a later change replaces the earlier
    urgent: bool
    ends_at: datetime

    def push_payload(self, unsubscribe_url: str) -> bytes:
        body = "\n".join(self.lines)
        if len(body) > MAX_PUSH_BODY:
            body = body[: MAX_PUSH_BODY - 1] + "…"
        data = {
            "title": self.title,
            "body": body,
            "url": self.url,
            "tag": self.tag,
            "urgent": self.urgent,
            "unsubscribe": unsubscribe_url,
        }
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    def mail_body(self, unsubscribe_url: str) -> str:
        return "\n".join(
            [
                *self.lines,
                "",
                _("Details and how to answer: %(link)s", link=self.url),
                "",
                "--",
                _("You get this because you subscribed to these alerts."),
                _("Stop them: %(link)s", link=unsubscribe_url),
                "",
            ]
        )


def page_url(base: str, item: Callout | Event) -> str:
    """Our own objects at their pages; others at this node's copy of them."""
    if item.local:
        return item.url
    kind = "callouts" if isinstance(item, Callout) else "events"
    return f"{base}/calendar/{kind}/{item.id}"


def callout_alert(base: str, callout: Callout, change: str) -> AlertText:
    words = words_for("callout", change)
    urgency = urgency_word(callout.urgency)
    needed = callout.needed
    if callout.people_needed:
        needed += " (" + people(callout.people_needed) + ")"
    start = format_moment(callout.starts_at, callout.timezone)
    end = format_moment(callout.ends_at, callout.timezone)
    lines = [
        f"{urgency}. {words.state}",
        _("Needed: %(needed)s", needed=needed),
        _("When: from %(start)s until %(end)s", start=start, end=end),
    ]
    if callout.location_name:
        lines.append(_("Area: %(area)s", area=callout.location_name))
    if not callout.local:
        lines.append(_("From the network at %(server)s", server=callout.origin_domain))
    return AlertText(
        title=_("%(change)s: %(title)s", change=words.headline, title=callout.title),
        lines=tuple(lines),
        url=page_url(base, callout),
        tag=f"callout-{callout.id}",
        urgent=callout.urgency == "urgent",
        ends_at=callout.ends_at,
    )


def event_alert(base: str, event: Event, change: str) -> AlertText:
    words = words_for("event", change)
    lines = [
        words.state,
        _(
            "When: %(when)s",
            when=format_when(event.starts_at, event.ends_at, event.timezone, event.all_day),
        ),
    ]
    if event.location_name:
        lines.append(_("Area: %(area)s", area=event.location_name))
    if not event.local:
        lines.append(_("From the network at %(server)s", server=event.origin_domain))
    return AlertText(
        title=_("%(change)s: %(title)s", change=words.headline, title=event.title),
        lines=tuple(lines),
        url=page_url(base, event),
        tag=f"event-{event.id}",
        urgent=False,
        ends_at=event.ends_at,
    )
