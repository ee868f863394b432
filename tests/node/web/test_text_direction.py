"""User-entered text is rendered with ``dir="auto"`` (public and admin pages), so a
right-to-left title or name reads correctly beside left-to-right text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.support.admin import logged_in, post_form
from tests.support.nodes import Node
from tests.support.pages import get_page, make_callout, make_event

TITLE = "اجتماع المستأجرين 2026"  # "tenants' meeting", in Arabic
PLACE = "מרכז קהילתי"  # "community centre", in Hebrew


def has_auto_dir(html: str, tag: str, text: str) -> bool:
    """Some ``tag`` with ``dir="auto"`` whose content starts with ``text``."""
    return (
        re.search(rf'<{tag}\b[^>]*\bdir="auto"[^>]*>(?:<a [^>]*>)?{re.escape(text)}', html)
        is not None
    )


async def test_titles_places_and_descriptions_on_public_pages(node: Node) -> None:
    event = await make_event(node, title=TITLE, location=PLACE, description="שלום *עולם*")
    callout = await make_callout(node, title=TITLE, needed="أيادي", contact="סיגנל")
    page = (await get_page(node, urlsplit(event.uri).path)).text
    assert has_auto_dir(page, "h1", TITLE) and has_auto_dir(page, "dd", PLACE)
    assert '<div class="description" dir="auto">' in page
    call = (await get_page(node, urlsplit(callout.uri).path)).text
    assert has_auto_dir(call, "h1", TITLE) and has_auto_dir(call, "dd", "أيادي")
    assert has_auto_dir(call, "dd", "סיגנל")
    home = (await get_page(node, "/")).text
    assert has_auto_dir(home, "h3", TITLE) or has_auto_dir(home, "h2", TITLE)
    assert has_auto_dir(home, "p", PLACE)


async def test_network_name_and_summary_on_the_front_page(node: Node) -> None:
    async with logged_in(node, "boss", "admin") as admin:
        saved = await post_form(admin, "/admin/profile", display_name=PLACE, summary=TITLE)
    assert saved.status_code == 303
    home = (await get_page(node, "/")).text
    assert has_auto_dir(home, "h1", PLACE) and has_auto_dir(home, "p", TITLE)
    assert has_auto_dir(home, "a", PLACE)  # the header's brand


async def test_admin_lists_and_text_inputs(node: Node) -> None:
    await make_event(node, title=TITLE)
    async with logged_in(node, "boss", "admin") as admin:
        events = (await admin.get("/admin/events")).text
        form = (await admin.get("/admin/events/new")).text
    assert has_auto_dir(events, "h3", TITLE)
    assert re.search(r'<input id="title" name="title" type="text" dir="auto"', form)
    assert re.search(r'<textarea id="description" name="description" dir="auto"', form)
