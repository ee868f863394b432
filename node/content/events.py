"""The network's own events: create, change, cancel, delete — each federated.

Input arrives as an ``EventForm`` of strings (CLI flags, web form fields);
``event_values`` validates all of it before anything is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.hosts import url_authority
from node.alerts.queue import queue_event_alerts
from node.ap.activities import state_note_to_as
from node.ap.events import event_to_as, tombstone_to_as
from node.content import validation as v
from node.content.models import Event, Tombstone
from node.content.publish import publish
from node.content.text import format_when, format_where
from node.context import NodeContext
from node.i18n import gettext as _
from node.i18n import pgettext, speaking
from node.identity import group_actor
from node.outbox import new_activity_id
from node.sanitize import markdown_to_html


@dataclass
class EventForm:
    title: str | None = None
    description: str | None = None
    start: str | None = None
    end: str | None = None
    timezone: str | None = None
    all_day: bool | None = None
    location: str | None = None
    address: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    online_url: str | None = None
    tags: list[str] | str | None = field(default=None)

    def merged_into(self, base: EventForm) -> EventForm:
        """``base`` with every field this form sets replaced."""
        changes = {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }
        return EventForm(**{**asdict(base), **changes})


def set_fields(form: Any) -> dict[str, Any]:
    return {
        f.name: getattr(form, f.name) for f in fields(form) if getattr(form, f.name) is not None
    }


def event_values(form: EventForm, default_timezone: str) -> dict[str, Any]:
    """Validated column values, or ``ContentErrors`` naming every bad field at once."""
    check = v.Checks()
    title = check(v.text, form.title, "title", limit=v.MAX_TITLE, required=True)
    tz_name = (form.timezone or default_timezone).strip()
    starts_at, ends_at = _event_times(form, tz_name, check)
    description = check(v.text, form.description, "description", limit=v.MAX_TEXT)
    latitude, longitude = check(v.point, form.latitude, form.longitude) or (None, None)
    values = {
        "title": title,
        "description_md": description,
        "description_html": markdown_to_html(description) if description else "",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": tz_name,
        "all_day": bool(form.all_day),
        "location_name": check(v.text, form.location, "location", limit=v.MAX_LINE),
        "location_address": check(v.text, form.address, "address", limit=v.MAX_ADDRESS),
        "latitude": latitude,
        "longitude": longitude,
        "online_url": check(v.web_url, form.online_url, "online_url"),
        "tags": check(v.tags, form.tags),
    }
    check.raise_any()
    return values


def _event_times(
    form: EventForm, tz_name: str, check: v.Checks
) -> tuple[datetime | None, datetime | None]:
    tz = check(v.zone, tz_name)
    if tz is None:
        return None, None
    if form.all_day:
        return check(v.all_day_span, form.start, form.end, tz) or (None, None)
    starts_at = check(v.moment, form.start, "start", tz)
    ends_at = check(v.moment, form.end, "end", tz)
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        check.add("end", v.Predicate(_("must be after the start")))
    return starts_at, ends_at


def form_of(event: Event) -> EventForm:
    """The form that would recreate ``event`` (times in its own zone)."""
    tz = v.zone(event.timezone)
    start, end = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    if event.all_day:  # stored as midnight after the last day
        start_text, end_text = (
            start.date().isoformat(),
            (end.date() - timedelta(days=1)).isoformat(),
        )
    else:
        start_text, end_text = start.strftime("%Y-%m-%d %H:%M"), end.strftime("%Y-%m-%d %H:%M")
    return EventForm(
        title=event.title,
        description=event.description_md,
        start=start_text,
        end=end_text,
        timezone=event.timezone,
        all_day=event.all_day,
        location=event.location_name,
        address=event.location_address,
        latitude=None if event.latitude is None else str(event.latitude),
        longitude=None if event.longitude is None else str(event.longitude),
        online_url=event.online_url or "",
        tags=list(event.tags),
    )


async def _actor_id(node: NodeContext, session: AsyncSession) -> str:
    return node.urls.actor((await group_actor(session)).username)


async def create_event(node: NodeContext, session: AsyncSession, form: EventForm) -> Event:
    values = event_values(form, node.settings.timezone)
    actor_id = await _actor_id(node, session)
    event = Event(
        uri="",
        url="",
        local=True,
        actor_uri=actor_id,
        origin_domain=url_authority(node.urls.base),
        status="scheduled",
        summary_text="",
        **values,
    )
    session.add(event)
    await session.flush()
    event.uri = event.url = f"{node.urls.base}/events/{event.id}"
    created = event_to_as(event, node.urls, actor_id, language=node.settings.language)
    await publish(node, session, "Create", created)
    await queue_event_alerts(node, session, event)
    return event


async def update_event(
    node: NodeContext, session: AsyncSession, event: Event, changes: EventForm
) -> Event:
    """Change what was given; moving it later or elsewhere is also posted as news."""
    values = event_values(changes.merged_into(form_of(event)), node.settings.timezone)
    start, place = event.starts_at, _where(event)
    for name, value in values.items():
        setattr(event, name, value)
    await _publish_update(node, session, event)
    if event.starts_at > start:
        await _publish_news(node, session, event, "postponed")
    elif _where(event) != place:
        await _publish_news(node, session, event, "moved")
    return event


async def cancel_event(node: NodeContext, session: AsyncSession, event: Event) -> Event:
    if event.status == "cancelled":
        raise v.ContentError("status", _("this event is already cancelled"))
    event.status = "cancelled"
    await _publish_update(node, session, event)
    await _publish_news(node, session, event, "cancelled")
    return event


def _where(event: Event) -> str:
    return format_where(event.location_name, event.location_address, event.online_url)


async def _publish_news(node: NodeContext, session: AsyncSession, event: Event, word: str) -> None:
    """A public Note in reply to the event: Mastodon before 4.5 ignores an
    ``Update`` of an ``Event``, so followers would otherwise never hear of it.
    Written in the node's default language."""
    language = node.settings.language
    with speaking(language):
        when = format_when(event.starts_at, event.ends_at, event.timezone, event.all_day)
        headline = {
            "postponed": _("POSTPONED"),
            "moved": _("MOVED"),
            "cancelled": pgettext("event", "CANCELLED"),
        }
        lines = [
            f"<strong>{escape(headline[word])}</strong>: {escape(event.title)}",
            _("When: %(when)s", when=escape(when)),
        ]
        if where := _where(event):
            lines.append(_("Where: %(place)s", place=escape(where)))
    lines.append(f'<a href="{escape(event.url)}">{escape(event.url)}</a>')
    local = await group_actor(session)
    note = state_note_to_as(
        note_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        followers=node.urls.followers(local.username),
        in_reply_to=event.uri,
        content="".join(f"<p>{line}</p>" for line in lines),
        url=event.url,
        published=datetime.now(UTC),
        language=language,
    )
    await publish(node, session, "Create", note)


async def _publish_update(node: NodeContext, session: AsyncSession, event: Event) -> Event:
    event.updated_at = datetime.now(UTC)
    await session.flush()
    actor_id = await _actor_id(node, session)
    updated = event_to_as(event, node.urls, actor_id, language=node.settings.language)
    await publish(node, session, "Update", updated)
    return event


async def delete_event(node: NodeContext, session: AsyncSession, event: Event) -> None:
    """Delete for good: the id answers 410 from now on, and followers are told."""
    now = datetime.now(UTC)
    session.add(Tombstone(uri=event.uri, former_type="Event", deleted_at=now))
    await session.delete(event)
    await publish(node, session, "Delete", tombstone_to_as(event.uri, "Event", now))
