"""Our events as ActivityStreams ``Event`` objects (FEP-8a8e), and tombstones.

One document has to serve three kinds of reader (docs/events.md):
calendar servers (Mobilizon, Gancio, the WordPress bridge) read the structured
FEP-8a8e fields; Mastodon shows only ``name``, ``summary`` and a link to
``url``, so ``summary`` carries date, time, zone and place as text; and our own
nodes read it back through ``node.ap.remote_events``.

Times go out with the offset of the event's own zone (not ``Z``) plus
``timezone``, because an offset alone cannot be turned back into wall time
(FEP-8a8e, "Time zone"). The return value has no ``@context``: callers wrap it
with ``node.ap.context.document`` or embed it in an activity.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from federation.as2 import AS_PUBLIC
from node.ap.context import FEP_8A8E
from node.ap.dates import iso_utc
from node.content.models import Event
from node.content.text import event_summary, zone, zone_name
from node.i18n import SOURCE_LANGUAGE, speaking
from node.urls import Urls

EVENT_CATEGORY = "MOVEMENTS_POLITICS"
ONLINE_NAME = "Online"
_STATUS = {
    "scheduled": (f"{FEP_8A8E}EventScheduled", "CONFIRMED"),
    "cancelled": (f"{FEP_8A8E}EventCancelled", "CANCELLED"),
}


def iso_in_zone(moment: datetime, tz: str) -> str:
    """``2026-07-03T19:00:00+01:00``: the instant with the offset of zone ``tz`` then."""
    return moment.astimezone(zone(tz)).isoformat(timespec="seconds")


def hashtag_to_as(urls: Urls, tag: str) -> dict[str, str]:
    """A ``Hashtag`` as Mastodon sends it, linking to this node's tag page."""
    return {"type": "Hashtag", "name": f"#{tag}", "href": f"{urls.base}/tags/{quote(tag)}"}


def audience(urls: Urls, actor_id: str) -> dict[str, list[str]]:
    """Public, copied to the actor's followers (docs/interop.md#content)."""
    return {"to": [AS_PUBLIC], "cc": [urls.followers_of(actor_id)]}


def _place(name: str, address: str, latitude: float | None, longitude: float | None) -> Any:
    if not (name or address or (latitude is not None and longitude is not None)):
        return None
    place: dict[str, Any] = {"type": "Place", "name": name or address}
    if address:
        place["address"] = address  # text: FEP-8a8e receivers must accept it
    if latitude is not None and longitude is not None:
        place["latitude"] = latitude
        place["longitude"] = longitude
    return place


def location_to_as(
    name: str,
    address: str,
    latitude: float | None,
    longitude: float | None,
    online_url: str | None,
) -> dict[str, Any] | list[dict[str, Any]] | None:
    """A ``Place``, a ``VirtualLocation``, both (hybrid: the place first), or None."""
    found = [
        _place((name or "").strip(), (address or "").strip(), latitude, longitude),
        {"type": "VirtualLocation", "name": ONLINE_NAME, "url": online_url} if online_url else None,
    ]
    locations = [item for item in found if item is not None]
    if not locations:
        return None
    return locations[0] if len(locations) == 1 else locations


def event_to_as(
    event: Event, urls: Urls, actor_id: str, *, language: str = SOURCE_LANGUAGE
) -> dict[str, Any]:
    """The FEP-8a8e ``Event`` for ``event``, without ``@context``.

    The summary is written in ``language`` (the node's default language: what
    federates does not depend on who is signed in) and tagged with it in
    ``summaryMap``; the description, as its author wrote it, in ``contentMap``.
    """
    event_status, ical_status = _STATUS.get(event.status, _STATUS["scheduled"])
    with speaking(language):
        summary = escape(event_summary(event), quote=False)  # AS2 summary is HTML
    doc: dict[str, Any] = {
        "id": event.uri,
        "type": "Event",
        "url": event.url,
        "name": event.title,
        "summary": summary,
        "summaryMap": {language: summary},
        "content": event.description_html,
        "mediaType": "text/html",
        "startTime": iso_in_zone(event.starts_at, event.timezone),
        "endTime": iso_in_zone(event.ends_at, event.timezone),
        "timezone": zone_name(event.timezone),
        "displayEndTime": True,
        "eventStatus": event_status,
        "ical:status": ical_status,
        "category": EVENT_CATEGORY,
        "joinMode": "none",
        "attributedTo": actor_id,
        "organizers": {"type": "Collection", "totalItems": 1, "items": [actor_id]},
        "tag": [hashtag_to_as(urls, tag) for tag in event.tags or []],
        "published": iso_utc(event.published_at),
        "updated": iso_utc(event.updated_at),
        **audience(urls, actor_id),
    }
    if event.description_html:
        doc["contentMap"] = {language: event.description_html}
    location = location_to_as(
        event.location_name,
        event.location_address,
        event.latitude,
        event.longitude,
        event.online_url,
    )
    if location is not None:
        doc["location"] = location
    return doc


def tombstone_to_as(uri: str, former_type: str, deleted_at: datetime) -> dict[str, Any]:
    """What a deleted object's id answers with (and what ``Delete`` carries)."""
    return {
        "id": uri,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": iso_utc(deleted_at),
    }
