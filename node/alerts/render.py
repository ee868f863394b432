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
from node.content.callout_text import HEADLINES, public_where
from node.content.models import Callout, Event
from node.content.text import URGENCY_LABELS, format_moment, format_when

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
        links = [f"Details and how to answer: {self.url}"]
        if respond_url:
            links = [
                f"Answer (your personal link, do not forward it): {respond_url}",
                f"Details: {self.url}",
            ]
        return "\n".join(
            [
                *self.lines,
                "",
                *links,
                "",
                "--",
                "You get this because you subscribed to these alerts.",
                f"Stop them: {unsubscribe_url}",
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
    urgency = URGENCY_LABELS.get(callout.urgency, callout.urgency)
    needed = callout.needed
    if callout.people_needed:
        needed += f" ({callout.people_needed} people)"
    lines = [
        f"{urgency}. {words.state}",
        f"Needed: {needed}",
        f"When: from {format_moment(callout.starts_at, callout.timezone)} "
        f"until {format_moment(callout.ends_at, callout.timezone)}",
    ]
    if callout.location_name:
        lines.append(f"Area: {callout.location_name}")
    if not callout.local:
        lines.append(f"From the network at {callout.origin_domain}")
    return AlertText(
        title=f"{words.headline}: {callout.title}",
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
        title = f"You are confirmed: {callout.title}"
        lines = ["Please come.", f"Where: {where}" + (f" ({callout.area})" if callout.area else "")]
        lines.append(f"From: {when}")
        if callout.contact:
            lines.append(f"Contact: {callout.contact}")
        lines.append("Please do not share the address.")
    elif kind == "you-standby":
        title = f"On standby: {callout.title}"
        lines = [
            "Thank you: enough people are confirmed for now.",
            "Do not go unless you are told again.",
        ]
    else:
        headline = HEADLINES["false-alarm" if callout.status == "false-alarm" else "cancelled"]
        title = f"{headline}: {callout.title}"
        lines = ["You were confirmed for this callout: do not go."]
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
        f"When: {format_when(event.starts_at, event.ends_at, event.timezone, event.all_day)}",
    ]
    if event.location_name:
        lines.append(f"Area: {event.location_name}")
    if not event.local:
        lines.append(f"From the network at {event.origin_domain}")
    return AlertText(
        title=f"{words.headline}: {event.title}",
        lines=tuple(lines),
        url=page_url(base, event),
        tag=f"event-{event.id}",
        urgent=False,
        ends_at=event.ends_at,
    )
