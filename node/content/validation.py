"""Checking what people type (CLI flags, web forms) before anything is stored.

Every problem is a ``ContentError`` naming the field, with a message a person
can act on; nothing is written until the whole input is valid. A whole form is
checked with a ``Checks``: it runs every check, keeps each field's first
problem, and raises them all at once as ``ContentErrors``, so a person in a
hurry corrects every mistake in one go. Messages are written in the current
language (node/i18n.py) when the check refuses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from node.i18n import gettext as _

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_LINE = 300
MAX_ADDRESS = 500
MAX_TAGS = 10
TAG_RE = re.compile(r"^[\w-]{1,50}$")
URGENCIES = ("urgent", "soon", "ongoing")
P = ParamSpec("P")
T = TypeVar("T")


class Predicate(str):
    """A message that says something of its field ("is required"): shown after the
    field's name ("Title is required."), where other messages stand alone."""


class ContentError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ContentErrors(ContentError):
    """Several fields that did not validate, field -> message, in the form's order.

    A ``ContentError`` too: ``field`` and ``message`` are the first problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = dict(errors)

    def __str__(self) -> str:
        return "; ".join(f"{field}: {message}" for field, message in self.errors.items())


def errors_of(exc: ContentError) -> dict[str, str]:
    """Every field -> message an error carries (one, or all of a ``ContentErrors``)."""
    return dict(exc.errors) if isinstance(exc, ContentErrors) else {exc.field: exc.message}


class Checks:
    """Run every check of a form, keep each field's first problem, raise them together."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def __call__(self, check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``check(*args, **kwargs)``, or None (and the problem kept) if it refuses."""
        try:
            return check(*args, **kwargs)
        except ContentError as exc:
            for field, message in errors_of(exc).items():
                self.add(field, message)
            return None

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raise_any(self) -> None:
        """Raise ``ContentErrors`` when any check refused."""
        if self.errors:
            raise ContentErrors(self.errors)


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    name = (name or "").strip()
    if not name or ".." in name or name.startswith("/"):
        raise ContentError(field, _("give an IANA time zone such as Europe/London"))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ContentError(
            field, _("unknown time zone %(name)s; use e.g. Europe/London", name=repr(name))
        ) from exc


def text(value: str | None, field: str, *, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ContentError(field, Predicate(_("is required")))
    if len(value) > limit:
        raise ContentError(
            field,
            Predicate(
                _(
                    "is %(length)s characters long; the limit is %(limit)s",
                    length=len(value),
                    limit=limit,
                )
            ),
        )
    return value


def moment(value: str | None, field: str, tz: ZoneInfo) -> datetime:
    """A date and time as typed: ``2026-12-03 19:00`` in ``tz``, or ISO 8601 with offset."""
    raw = (value or "").strip()
    if not raw:
        raise ContentError(field, Predicate(_("is required (e.g. 2026-12-03 19:00)")))
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "T", 1) if " " in raw else raw)
    except ValueError as exc:
        problem = _("%(value)s is not a date and time like 2026-12-03 19:00", value=repr(raw))
        raise ContentError(field, problem) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def day(value: str | None, field: str) -> date:
    raw = (value or "").strip()
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as exc:
        problem = _("%(value)s is not a date like 2026-12-03", value=repr(raw))
        raise ContentError(field, problem) from exc


def all_day_span(start: str | None, end: str | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Whole days, the end day included: midnight to midnight in the event's zone."""
    first = day(start, "start")
    last = day(end, "end") if (end or "").strip() else first
    if last < first:
        raise ContentError("end", _("the last day is before the first day"))
    begin = datetime.combine(first, time(0), tz).astimezone(UTC)
    finish = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
    return begin, finish


def span(start: str | None, end: str | None, tz: ZoneInfo) -> tuple[datetime, datetime]:
    begin = moment(start, "start", tz)
    finish = moment(end, "end", tz)
    if finish <= begin:
        raise ContentError("end", Predicate(_("must be after the start")))
    return begin, finish


def web_url(value: str | None, field: str) -> str | None:
    raw = (value or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc or len(raw) > 2048:
        raise ContentError(field, Predicate(_("must be a web address starting with https://")))
    return raw


def coordinate(value: str | float | None, field: str, bound: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise ContentError(field, _("%(value)s is not a number", value=repr(value))) from exc
    if not -bound <= number <= bound:
        low, high = f"-{bound:g}", f"{bound:g}"
        between = _("must be between %(low)s and %(high)s", low=low, high=high)
        raise ContentError(field, Predicate(between))
    return number


def point(
    latitude: str | float | None, longitude: str | float | None
) -> tuple[float | None, float | None]:
    """Both coordinates or neither: half a point places nothing on a map."""
    lat = coordinate(latitude, "latitude", 90)
    lon = coordinate(longitude, "longitude", 180)
    if lat is not None and lon is None:
        raise ContentError("longitude", _("give the longitude too (or clear the latitude)"))
    if lon is not None and lat is None:
        raise ContentError("latitude", _("give the latitude too (or clear the longitude)"))
    return lat, lon


def tags(values: list[str] | str | None) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[,\s]+", values)
    cleaned: list[str] = []
    for value in values or []:
        tag = value.strip().lstrip("#").lower()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            problem = _("%(value)s is not a tag (letters, digits, '-' and '_')", value=repr(value))
            raise ContentError("tags", problem)
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ContentError("tags", _("at most %(count)s tags", count=MAX_TAGS))
    return cleaned


def count(value: str | int | None, field: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise ContentError(field, _("%(value)s is not a whole number", value=repr(value))) from exc
    if not 1 <= number <= 100_000:
        raise ContentError(
            field, Predicate(_("must be between %(low)s and %(high)s", low=1, high=100000))
        )
    return number


def urgency(value: str | None) -> str:
    word = (value or "soon").strip().lower()
    if word not in URGENCIES:
        raise ContentError(
            "urgency", Predicate(_("must be one of %(choices)s", choices=", ".join(URGENCIES)))
        )
    return word
