"""Each event and callout has its own ``.ics``, linked from its page; a Markdown
link keeps its address in the iCalendar description; ``/tags/x.ics`` is the
tag's feed, not a page titled "#x.ics"."""

from __future__ import annotations

from urllib.parse import urlsplit

import icalendar

from node.feeds.ical import html_to_text
from tests.support.nodes import Node
from tests.support.pages import (
    followed_node,
    get_page,
    make_callout,
    make_event,
    remote_callout,
    remote_event,
)

ICS = "text/calendar; charset=utf-8"


def path_of(uri: str) -> str:
    return urlsplit(uri).path


async def calendar_at(node: Node, path: str) -> icalendar.Calendar:
    response = await node.client.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    assert response.headers["content-type"] == ICS
    return icalendar.Calendar.from_ical(response.content)


def vevents(calendar: icalendar.Calendar) -> list[icalendar.Event]:
    return list(calendar.walk("VEVENT"))


async def test_an_event_has_its_own_ics_linked_from_its_page(node: Node) -> None:
    event = await make_event(
        node, title="Assembly", description="See [the agenda](https://a.example/agenda)."
    )
    await make_event(node, title="Another one")
    calendar = await calendar_at(node, f"{path_of(event.uri)}.ics")
    (only,) = vevents(calendar)
    assert str(only["uid"]) == event.uri and str(only["summary"]) == "Assembly"
    assert "the agenda (https://a.example/agenda)" in str(only["description"])
    page = (await get_page(node, path_of(event.uri))).text
    assert (
        f'<a href="{path_of(event.uri)}.ics" type="text/calendar" download>Add to calendar</a>'
        in page
    )


async def test_a_callout_has_its_own_ics_linked_from_its_page(node: Node) -> None:
    callout = await make_callout(node, title="Eviction at 7am")
    (only,) = vevents(await calendar_at(node, f"{path_of(callout.uri)}.ics"))
    assert str(only["uid"]) == callout.uri and str(only["summary"]) == "Eviction at 7am"
    assert only.decoded("dtend") > only.decoded("dtstart")
    assert "Needed: People at the door (20 people)" in str(only["description"])
    page = (await get_page(node, path_of(callout.uri))).text
    assert f'href="{path_of(callout.uri)}.ics"' in page and "Add to calendar" in page


async def test_a_followed_networks_items_have_an_ics_beside_our_copy(node: Node) -> None:
    hackney = await followed_node(node, "hackney.example", "Hackney Renters")
    event = await remote_event(node, hackney, "Hackney social")
    callout = await remote_callout(node, hackney, "Hands needed", "soon")
    (copy,) = vevents(await calendar_at(node, f"/calendar/events/{event.id}.ics"))
    assert str(copy["uid"]) == event.uri
    assert "Published by Hackney Renters" in str(copy["description"])
    (call,) = vevents(await calendar_at(node, f"/calendar/callouts/{callout.id}.ics"))
    assert str(call["uid"]) == callout.uri
    page = (await get_page(node, f"/calendar/events/{event.id}")).text
    assert f'href="/calendar/events/{event.id}.ics"' in page


async def test_unknown_or_malformed_item_calendars_are_404(node: Node) -> None:
    hackney = await followed_node(node, "hackney.example", "Hackney Renters")
    remote = await remote_event(node, hackney, "Theirs")
    ours = await make_event(node)
    for path in (
        "/events/999999.ics",
        "/events/x1.ics",
        "/callouts/99999.ics",
        f"/events/{remote.id}.ics",  # not ours: served beside our copy instead
        f"/calendar/events/{ours.id}.ics",  # ours: at its own address
    ):
        assert (await node.client.get(path)).status_code == 404, path


async def test_tag_ics_is_a_feed_of_the_tagged_events(node: Node) -> None:
    await make_event(node, title="Housing meeting", tags=["housing"])
    await make_event(node, title="Food bank", tags=["food"])
    calendar = await calendar_at(node, "/tags/housing.ics")
    assert [str(e["summary"]) for e in vevents(calendar)] == ["Housing meeting"]
    assert str(calendar["x-wr-calname"]).endswith("#housing")
    assert (await get_page(node, "/tags/housing")).status_code == 200  # the page stays


def test_links_keep_their_address_in_plain_text() -> None:
    text = html_to_text(
        '<p>See <a href="https://a.example/x?y=1&amp;z=2" rel="nofollow">the <em>plan</em></a>, '
        '<a href="https://b.example/">https://b.example/</a> and <a href="/local">here</a>.</p>'
    )
    assert text == "See the plan (https://a.example/x?y=1&z=2), https://b.example/ and here."
