"""Human text: when and where for Mastodon readers, and the callout's full HTML body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from node.content.models import Callout, Event
from node.content.text import (
    callout_content_html,
    event_summary,
    format_moment,
    format_when,
    format_where,
)

BASE = "https://node.example"
ACTOR = f"{BASE}/actors/network"
NOW = datetime(2026, 2, 3, 6, 0, tzinfo=UTC)


def make_event(**changes: Any) -> Event:
    values: dict[str, Any] = {
        "uri": f"{BASE}/events/7",
        "local": True,
        "actor_uri": ACTOR,
        "origin_domain": "node.example",
        "relayed_by": None,
        "url": f"{BASE}/events/7",
        "raw": None,
        "published_at": datetime(2026, 1, 20, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 21, 12, 0, tzinfo=UTC),
        "title": "Tenants' assembly",
        "description_md": "",
        "description_html": "",
        "summary_text": "",
        "starts_at": datetime(2026, 2, 3, 19, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 2, 3, 21, 0, tzinfo=UTC),
        "timezone": "Europe/London",
        "all_day": False,
        "tags": [],
        "status": "scheduled",
        "location_name": "Town Hall",
        "location_address": "1 High St, London N15",
        "latitude": None,
        "longitude": None,
        "online_url": None,
    }
    return Event(**(values | changes))


def make_callout(**changes: Any) -> Callout:
    values: dict[str, Any] = {
        "uri": f"{BASE}/callouts/41",
        "local": True,
        "actor_uri": ACTOR,
        "origin_domain": "node.example",
        "relayed_by": None,
        "url": f"{BASE}/callouts/41",
        "raw": None,
        "published_at": datetime(2026, 2, 3, 5, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 2, 3, 5, 0, tzinfo=UTC),
        "title": "Eviction at 12 Elm Road",
        "needed": "Bodies at the door",
        "people_needed": 20,
        "contact": "Signal +44 7700 900000",
        "urgency": "urgent",
        "starts_at": datetime(2026, 2, 3, 7, 0, tzinfo=UTC),
        "ends_at": datetime(2026, 2, 3, 10, 0, tzinfo=UTC),
        "timezone": "Europe/London",
        "status": "open",
        "content_html": "",
        "come_count": 0,
        "help_count": 0,
        "tally_published_at": None,
        "location_name": "12 Elm Road",
        "location_address": "Tottenham, London N17",
        "latitude": 51.6,
        "longitude": -0.07,
        "online_url": None,
    }
    return Callout(**(values | changes))


# -- when ---------------------------------------------------------------------------


def test_same_day_event_in_winter() -> None:
    when = format_when(
        datetime(2026, 2, 3, 19, 0, tzinfo=UTC),
        datetime(2026, 2, 3, 21, 0, tzinfo=UTC),
        "Europe/London",
        False,
    )
    assert when == "Tue 3 Feb 2026, 19:00\u201321:00 (Europe/London)"


def test_summer_time_is_shown_as_wall_time_in_the_zone() -> None:
    when = format_when(
        datetime(2026, 7, 3, 18, 0, tzinfo=UTC),
        datetime(2026, 7, 3, 19, 30, tzinfo=UTC),
        "Europe/London",
        False,
    )
    assert when == "Fri 3 Jul 2026, 19:00\u201320:30 (Europe/London)"


def test_the_zone_decides_the_date() -> None:
    start = datetime(2026, 2, 4, 2, 0, tzinfo=UTC)  # 21:00 on the 3rd in New York
    when = format_when(start, start + timedelta(hours=1), "America/New_York", False)
    assert when == "Tue 3 Feb 2026, 21:00\u201322:00 (America/New_York)"


def test_event_over_midnight_names_both_days() -> None:
    when = format_when(
        datetime(2026, 2, 6, 22, 0, tzinfo=UTC),
        datetime(2026, 2, 7, 2, 0, tzinfo=UTC),
        "Europe/London",
        False,
    )
    assert when == "Fri 6 Feb 2026, 22:00 \u2013 Sat 7 Feb 2026, 02:00 (Europe/London)"


def test_all_day_single_day_with_exclusive_midnight_end() -> None:
    start = datetime(2026, 7, 2, 23, 0, tzinfo=UTC)  # midnight BST on Fri 3 Jul
    when = format_when(start, start + timedelta(days=1), "Europe/London", True)
    assert when == "Fri 3 Jul 2026, all day"


def test_all_day_over_several_days() -> None:
    when = format_when(
        datetime(2026, 2, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 2, 5, 23, 59, tzinfo=UTC),
        "Europe/London",
        True,
    )
    assert when == "Tue 3 Feb 2026 \u2013 Thu 5 Feb 2026, all day"


def test_end_not_after_start_is_left_out() -> None:
    start = datetime(2026, 2, 3, 19, 0, tzinfo=UTC)
    assert (
        format_when(start, start, "Europe/London", False) == "Tue 3 Feb 2026, 19:00 (Europe/London)"
    )


@pytest.mark.parametrize("tz", ["", "Mars/Olympus", "../../etc/passwd", "Europe"])
def test_unknown_zone_falls_back_to_utc(tz: str) -> None:
    start = datetime(2026, 7, 3, 18, 0, tzinfo=UTC)
    assert (
        format_when(start, start + timedelta(hours=1), tz, False)
        == "Fri 3 Jul 2026, 18:00\u201319:00 (UTC)"
    )


def test_format_moment() -> None:
    assert (
        format_moment(datetime(2026, 2, 3, 7, 0, tzinfo=UTC), "Europe/Rome")
        == "Tue 3 Feb 2026, 08:00 (Europe/Rome)"
    )


# -- where --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "address", "online", "expected"),
    [
        ("Town Hall", "1 High St", None, "Town Hall, 1 High St"),
        ("Via Roma 1", "Via Roma 1, Torino", None, "Via Roma 1, Torino"),
        ("Town Hall", "Town Hall", None, "Town Hall"),
        ("", "1 High St", None, "1 High St"),
        ("", "", "https://meet.example/r", "online: https://meet.example/r"),
        ("Town Hall", "", "https://meet.example/r", "Town Hall; online: https://meet.example/r"),
        ("", "", None, ""),
    ],
)
def test_format_where(name: str, address: str, online: str | None, expected: str) -> None:
    assert format_where(name, address, online) == expected


# -- event summary --------------------------------------------------------------------


def test_event_summary_is_when_then_where() -> None:
    assert event_summary(make_event()) == (
        "Tue 3 Feb 2026, 19:00\u201321:00 (Europe/London) \u00b7 Town Hall, 1 High St, London N15"
    )


def test_event_summary_without_a_place_is_just_when() -> None:
    summary = event_summary(make_event(location_name="", location_address=""))
    assert summary == "Tue 3 Feb 2026, 19:00\u201321:00 (Europe/London)"


def test_cancelled_event_summary_says_so_first() -> None:
    assert event_summary(make_event(status="cancelled")).startswith("CANCELLED: Tue 3 Feb 2026")


# -- callout body ---------------------------------------------------------------------


def test_callout_body_carries_everything_a_reader_needs() -> None:
    html = callout_content_html(make_callout(), base=BASE, now=NOW)
    assert "<strong>URGENT</strong>: Eviction at 12 Elm Road" in html
    assert "Needed: Bodies at the door \u2014 20 people needed" in html
    assert "Where: 12 Elm Road, Tottenham, London N17" in html
    assert (
        "https://www.openstreetmap.org/?mlat=51.60000&amp;mlon=-0.07000#map=17/51.60000/-0.07000"
        in html
    )
    assert "From: Tue 3 Feb 2026, 07:00 (Europe/London)" in html
    assert "Until: Tue 3 Feb 2026, 10:00 (Europe/London)" in html
    assert "Contact: Signal +44 7700 900000" in html
    assert "Answer the poll" in html
    assert (
        f'<a href="{BASE}/tags/callout" class="mention hashtag" rel="tag">#<span>callout</span></a>'
        in html
    )


@pytest.mark.parametrize(
    ("urgency", "label"), [("urgent", "URGENT"), ("soon", "Soon"), ("ongoing", "Ongoing")]
)
def test_callout_urgency_label(urgency: str, label: str) -> None:
    html = callout_content_html(make_callout(urgency=urgency), base=BASE, now=NOW)
    assert f"<strong>{label}</strong>:" in html


def test_callout_without_coordinates_has_no_map_link() -> None:
    html = callout_content_html(make_callout(latitude=None, longitude=None), base=BASE, now=NOW)
    assert "openstreetmap" not in html
    assert "Where: 12 Elm Road, Tottenham, London N17" in html


def test_callout_online_link_and_missing_optional_lines() -> None:
    callout = make_callout(
        location_name="", location_address="", latitude=None, longitude=None,
        online_url="https://meet.example/r", people_needed=None, contact="",
    )  # fmt: skip
    html = callout_content_html(callout, base=BASE, now=NOW)
    assert 'Where: Online: <a href="https://meet.example/r">https://meet.example/r</a>' in html
    assert "people needed" not in html
    assert "Contact:" not in html


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"status": "met"}, "ALL CLEAR \u2014 thank you"),
        ({"status": "cancelled"}, "CANCELLED \u2014 do not go"),
        ({"ends_at": NOW - timedelta(minutes=1)}, "closed"),
    ],
)
def test_callout_that_is_no_longer_open_says_so_and_stops_asking(
    changes: dict[str, Any], line: str
) -> None:
    html = callout_content_html(make_callout(**changes), base=BASE, now=NOW)
    assert html.startswith(f"<p><strong>{line}</strong></p>")
    assert "Answer the poll" not in html


def test_callout_values_are_html_escaped() -> None:
    callout = make_callout(
        title="<script>alert(1)</script>", needed="tea & <b>biscuits</b>",
        contact='"><img src=x onerror=alert(1)>', location_name="<i>Hall</i>",
        online_url='javascript:alert(1)"', latitude=None, longitude=None,
    )  # fmt: skip
    html = callout_content_html(callout, base=BASE, now=NOW)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "tea &amp; &lt;b&gt;biscuits&lt;/b&gt;" in html
    assert 'href="javascript' not in html


def test_callout_hashtag_base_defaults_to_the_callouts_origin() -> None:
    html = callout_content_html(make_callout(), now=NOW)
    assert f'href="{BASE}/tags/callout"' in html
