"""The parts of the event and callout forms that both admin pages share: field
names and labels, time-zone suggestions, reading a posted field, showing a
stored time in a ``datetime-local`` input, phrasing every validation error
beside its field, and rendering a form page (400 when it carries errors)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from babel.support import LazyProxy
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.content.text import is_iana_zone
from node.content.validation import ContentError, Predicate, errors_of
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.web.admin.session import render
from node.web.context import ctx

FormValues = dict[str, str | bool]
"""What a form page shows in its inputs, by field name (``""`` for unset)."""
FieldErrors = dict[str, str]
"""The message to show beside each field that did not validate."""

ZONES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels",
    "Europe/Amsterdam", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Vienna",
    "Europe/Stockholm", "Europe/Warsaw", "Europe/Athens", "Europe/Helsinki", "Europe/Kyiv",
    "Europe/Istanbul", "Africa/Lagos", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Toronto", "America/Mexico_City", "America/Bogota", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo",
    "Asia/Singapore", "Australia/Sydney", "Pacific/Auckland",
)  # fmt: skip
LABELS: dict[str, LazyProxy] = {
    "title": lazy_gettext("Title"),
    "start": lazy_gettext("Start"),
    "end": lazy_gettext("End"),
    "until": lazy_gettext("Until"),
    "timezone": lazy_gettext("Time zone"),
    "location": lazy_gettext("Place"),
    "address": lazy_gettext("Address"),
    "latitude": lazy_gettext("Latitude"),
    "longitude": lazy_gettext("Longitude"),
    "online_url": lazy_gettext("Online link"),
    "tags": lazy_gettext("Tags"),
    "description": lazy_gettext("Description"),
    "needed": lazy_gettext("What is needed"),
    "people": lazy_gettext("How many people"),
    "urgency": lazy_gettext("Urgency"),
    "contact": lazy_gettext("Contact"),
    "area": lazy_gettext("Area"),
    "private_address": lazy_gettext("Private address"),
}
EVENT_FIELDS: tuple[str, ...] = ("title", "start", "end", "timezone", "location", "address")
EVENT_FIELDS += ("latitude", "longitude", "online_url", "tags", "description")
CALLOUT_FIELDS: tuple[str, ...] = ("title", "needed", "people", "start", "until", "timezone")
CALLOUT_FIELDS += ("urgency", "contact", "location", "address", "latitude", "longitude")
CALLOUT_FIELDS += ("online_url", "area", "private_address")


@cache
def zones(default: str) -> list[str]:
    """Suggestions for the time-zone input: the node's own zone first."""
    return [z for z in dict.fromkeys((default, *ZONES)) if is_iana_zone(z)]


def field_text(form: FormData, name: str) -> str:
    """The posted text of ``name``; ``""`` when it is missing or a file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def input_time(value: str | None) -> str:
    """A stored form time (``2026-12-03 19:00`` or a date) as a datetime-local value."""
    value = value or ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"{value}T00:00"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", value):
        return value.replace(" ", "T")
    return value


def field_error(exc: ContentError) -> FieldErrors:
    """Every error ``exc`` carries beside the field it names, each phrased as a sentence."""
    return {field: _sentence(field, message) for field, message in errors_of(exc).items()}


def _sentence(field: str, message: str) -> str:
    if isinstance(message, Predicate):
        label = str(LABELS.get(field, field.replace("_", " ").capitalize()))
        # Welsh and Spanish put the field's name first too: "Teitl: mae angen ..."
        message = _("%(field)s %(problem)s", field=label, problem=message)
    message = message[:1].upper() + message[1:]
    return message if message.endswith(".") else message + "."


def form_page(
    request: Request,
    template: str,
    values: FormValues,
    *,
    item_url: str | None = None,
    errors: FieldErrors | None = None,
    extra: Mapping[str, object] | None = None,
) -> Response:
    """The form in ``template`` posting back to this page: 200, or 400 with ``errors``."""
    context = {
        "values": values,
        "errors": errors or {},
        "labels": LABELS,
        "action": request.url.path,
        "item_url": item_url,
        "zones": zones(ctx(request).settings.timezone),
        **(extra or {}),
    }
    return render(request, template, context, status=400 if errors else 200)
