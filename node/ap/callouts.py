"""Our callouts as ActivityStreams ``Question`` objects: a poll Mastodon shows in full.

A ``Question`` is native in Mastodon, so its ``content`` (everything a reader
needs, from ``node.content.text``) and its two vote buttons reach every
follower intact. Votes come back as ``Create{Note}`` whose ``name`` is the
option's text; ``option_from_name`` maps that back to ``come`` or ``help``.

Tallies are published per option as ``replies.totalItems``, the shape Mastodon
reads. The same facts for software sit in the ``tocsin:`` namespace
(``node.ap.context``). ``summary`` is deliberately absent: on a Question,
Mastodon shows it as a content warning that hides the callout.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from node.ap.dates import iso_utc
from node.ap.events import audience, hashtag_to_as, location_to_as
from node.content.models import Callout
from node.content.text import callout_content_html, zone_name
from node.i18n import LANGUAGES, SOURCE_LANGUAGE, speaking
from node.i18n import gettext as _
from node.urls import Urls

# The option names never change in a callout's life: Mastodon resets the votes
# when an Update (with a newer ``updated``) brings different options. They are
# written in the node's language; a vote is understood in any language we speak.
CALLOUT_OPTIONS: dict[str, str] = {"come": "I can come", "help": "I can help another way"}


def option_names() -> dict[str, str]:
    """The options in the current language."""
    return {"come": _("I can come"), "help": _("I can help another way")}


def _by_name() -> dict[str, str]:
    found: dict[str, str] = {}
    for language in LANGUAGES:
        with speaking(language):
            found.update({" ".join(t.casefold().split()): k for k, t in option_names().items()})
    return found


# states after which the poll is closed (``node.content.callout_states.FINAL``)
CLOSED_STATES = frozenset({"met", "false-alarm", "cancelled"})
CALLOUT_TAG = "callout"
_BY_NAME = _by_name()


def option_from_name(name: object) -> str | None:
    """``"come"`` or ``"help"`` for a vote's ``name``; None for anything else."""
    if not isinstance(name, str) or len(name) > 200:
        return None
    return _BY_NAME.get(" ".join(name.casefold().split()))


def _option(key: str, total: int) -> dict[str, Any]:
    return {
        "type": "Note",
        "name": option_names()[key],
        "replies": {"type": "Collection", "totalItems": total},
    }


def closed_at(callout: Callout, now: datetime) -> datetime | None:
    """When the poll closed, or None while it is open.

    Expired: its end. Met, a false alarm or cancelled before its end: when that
    happened, so that Mastodon (which takes ``closed`` over ``endTime``) stops
    taking votes now. ``unverified`` and ``enough`` polls stay open: answers are
    collected while a report is checked, and taken as standby once enough.
    """
    if callout.ends_at <= now:
        return callout.ends_at
    if callout.status in CLOSED_STATES:
        return min(callout.ended_at or callout.updated_at, now)
    return None


def callout_to_as(
    callout: Callout,
    urls: Urls,
    actor_id: str,
    *,
    now: datetime,
    language: str = SOURCE_LANGUAGE,
) -> dict[str, Any]:
    """The ``Question`` for ``callout``, without ``@context``.

    Its words are in ``language`` (the node's default language), which
    ``contentMap`` names. Never carries ``private_address``: ``location`` is the
    public place, and only the area when the exact address is private
    (``public_location``).
    """
    with speaking(language):
        content = callout_content_html(callout, base=urls.base, now=now)
        options = [_option("come", callout.come_count), _option("help", callout.help_count)]
    doc: dict[str, Any] = {
        "id": callout.uri,
        "type": "Question",
        "url": callout.url,
        "name": callout.title,
        "content": content,
        "contentMap": {language: content},
        "mediaType": "text/html",
        "oneOf": options,
        "votersCount": callout.come_count + callout.help_count,
        "startTime": iso_utc(callout.starts_at),
        "endTime": iso_utc(callout.ends_at),
        "timezone": zone_name(callout.timezone),
        "attributedTo": actor_id,
        "published": iso_utc(callout.published_at),
        "updated": iso_utc(callout.updated_at),
        "tag": [hashtag_to_as(urls, CALLOUT_TAG)],
        "urgency": callout.urgency,
        "needed": callout.needed,
        "calloutStatus": callout.status,
        "peopleConfirmed": callout.confirmed_count,
        "contact": callout.contact,
        **audience(urls, actor_id),
    }
    closed = closed_at(callout, now)
    if closed is not None:
        doc["closed"] = iso_utc(closed)
    if callout.people_needed is not None:
        doc["peopleNeeded"] = callout.people_needed
    location = public_location(callout)
    if location is not None:
        doc["location"] = location
    return doc


def public_location(callout: Callout) -> dict[str, Any] | list[dict[str, Any]] | None:
    """The ``Place`` anyone may read: with a private address, the area alone."""
    if callout.private_address:
        return location_to_as(callout.area, "", None, None, callout.online_url)
    address = ", ".join(p for p in (callout.location_address, callout.area) if p)
    return location_to_as(
        callout.location_name, address, callout.latitude, callout.longitude, callout.online_url
    )
