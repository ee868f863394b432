"""The text of one alert: what a person reads on a lock screen or in a mailbox.

An alert says what changed, the title, what is needed, when, the area and a
link. It never carries what the callout page keeps for the people confirmed to
come: ``PRIVATE_FIELDS`` lists those columns, and nothing here reads them (the
tests check every alert against every one of them) — except ``personal_alert``
of "you-confirmed", the one alert a subscriber confirmed to come is sent,
which says where (as the fediverse direct message does).

An alert of one of our callouts that still takes answers carries
``answerable`` (its id): the sender links each subscriber to their own answer
page (``node.alerts.tokens.respond_url``) beside the public page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from node.alerts.words import words_for
from node.content.callout_text import headline_words, public_where
from node.content.models import Callout, Event
from node.content.text import format_moment, format_when, people, urgency_word
from node.i18n import gettext as _

ANSWERABLE_STATES = frozenset({"unverified", "open", "enough"})

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
    answerable: int | None = None  # our callout's id, while it takes answers

    def push_payload(self, unsubscribe_url: str, respond_url: str | None = None) -> bytes:
        body = "\n".join(self.lines)
        if len(body) > MAX_PUSH_BODY:
            body = body[: MAX_PUSH_BODY - 1] + "…"
        data = {
            "title": self.title,
            "body": body,
            "url": respond_url or self.url,
            "tag": self.tag,
            "urgent": self.urgent,
            "unsubscribe": unsubscribe_url,
        }
        if respond_url:
            data["page"] = self.url
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    def mail_body(self, unsubscribe_url: str, respond_url: str | None = None) -> str:
        links = [_("Details and how to answer: %(link)s", link=self.url)]
        if respond_url:
            links = [
                _("Answer (your personal link, do not forward it): %(link)s", link=respond_url),
                _("Details: %(link)s", link=self.url),
            ]
        return "\n".join(
            [
                *self.lines,
                "",
                *links,
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
        answerable=_answerable(callout, change),
    )


def _answerable(callout: Callout, change: str) -> int | None:
    if not callout.local or callout.status not in ANSWERABLE_STATES:
        return None
    return callout.id if change in ("published", "confirmed", "enough", "reopened") else None


def personal_alert(base: str, callout: Callout, kind: str) -> AlertText:
    """What one subscriber who answered is told of their place (``PERSONAL_CHANGES``):
    confirmed (with where, the contact and the start), standby, or called off."""
    when = format_moment(callout.starts_at, callout.timezone)
    answerable = _answerable(callout, "published")
    if kind == "you-confirmed":
        where = callout.private_address or public_where(callout)
        title = _("You are confirmed: %(title)s", title=callout.title)
        if callout.area:
            where = _("%(place)s (%(area)s)", place=where, area=callout.area)
        lines = [_("Please come."), _("Where: %(place)s", place=where)]
        lines.append(_("From: %(when)s", when=when))
        if callout.contact:
            lines.append(_("Contact: %(contact)s", contact=callout.contact))
        lines.append(_("Please do not share the address."))
    elif kind == "you-standby":
        title = _("On standby: %(title)s", title=callout.title)
        lines = [
            _("Thank you: enough people are confirmed for now."),
            _("Do not go unless you are told again."),
        ]
    else:
        headline = headline_words("false-alarm" if callout.status == "false-alarm" else "cancelled")
        title = _("%(change)s: %(title)s", change=headline, title=callout.title)
        lines = [_("You were confirmed for this callout: do not go.")]
        answerable = None
    return AlertText(
        title=title,
        lines=tuple(lines),
        url=page_url(base, callout),
        tag=f"callout-{callout.id}-you",
        urgent=True,
        ends_at=callout.ends_at,
        answerable=answerable,
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
