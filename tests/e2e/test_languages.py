"""Which language a real node answers in: the browser's Accept-Language, the
switcher's choice (remembered in a cookie), the node's default (TOCSIN_LANGUAGE);
Welsh pages with Welsh dates; and a page cache that never mixes languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from node.config import ConfigError, load_settings
from node.content import events as ev
from tests.e2e.conftest import NodeFactory
from tests.support.nodes import Node

DASH = "\u2013"  # en dash
WELSH = "cy-GB,cy;q=0.9,en;q=0.5"
# 2 February 2027 is a Tuesday (any date a year or more ahead stays "upcoming")
DAY = datetime(datetime.now(UTC).year + 1, 2, 2)
while DAY.weekday() != 1:
    DAY += timedelta(days=1)


async def get(node: Node, path: str = "/", **headers: str) -> tuple[str, dict[str, str]]:
    answer = await node.client.get(path, headers={"Accept": "text/html", **headers})
    assert answer.status_code == 200
    return answer.text, dict(answer.headers)


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, "no <html lang>"
    return found.group(1)


async def test_accept_language_picks_welsh_or_spanish_by_q_value(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    page, headers = await get(node, **{"Accept-Language": WELSH})
    assert html_lang(page) == "cy" and headers["content-language"] == "cy"
    assert "Digwyddiadau i ddod" in page and "Upcoming events" not in page
    assert "Accept-Language" in headers["vary"] and "Cookie" in headers["vary"]
    # French is not spoken; Spanish beats English on q
    page, headers = await get(node, **{"Accept-Language": "fr-FR, es;q=0.8, en;q=0.3"})
    assert html_lang(page) == "es" and "Próximos eventos" in page
    # q=0 refuses a language outright
    page, _ = await get(node, **{"Accept-Language": "cy;q=0, es;q=0.1"})
    assert html_lang(page) == "es"


async def test_the_switcher_sets_a_cookie_that_wins_over_accept_language(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    page, _ = await get(node, "/calendar")
    switcher = page[page.index('<nav class="languages"') :]
    assert 'href="?lang=cy" hreflang="cy" lang="cy"' in switcher  # links: no JavaScript
    assert '<strong lang="en" aria-current="true">English</strong>' in switcher
    chosen = await node.client.get("/calendar?lang=es", headers={"Accept-Language": WELSH})
    assert html_lang(chosen.text) == "es" and "Calendario" in chosen.text
    assert chosen.cookies.get("lang") == "es"
    assert "HttpOnly" in chosen.headers["set-cookie"]
    # the client now sends the cookie: Spanish everywhere, whatever the browser says
    page, headers = await get(node, "/callouts", **{"Accept-Language": WELSH})
    assert html_lang(page) == "es" and headers["content-language"] == "es"
    assert "Convocatorias abiertas" in page
    node.client.cookies.clear()
    page, _ = await get(node, "/callouts", **{"Accept-Language": WELSH})
    assert html_lang(page) == "cy"


async def test_an_unknown_language_falls_back_to_the_node_default(
    start_node: NodeFactory,
) -> None:
    english, welsh = (
        await start_node(worker=False),
        await start_node("caerdydd", worker=False, TOCSIN_LANGUAGE="cy"),
    )
    page, _ = await get(english, **{"Accept-Language": "fr, de;q=0.5"})
    assert html_lang(page) == "en" and "Upcoming events" in page
    page, headers = await get(welsh, **{"Accept-Language": "fr, de;q=0.5"})
    assert html_lang(page) == "cy" and headers["content-language"] == "cy"
    page, _ = await get(welsh)  # no Accept-Language at all
    assert html_lang(page) == "cy" and "Galwadau" in page
    # a reader's own choice still wins on a Welsh node
    page, _ = await get(welsh, **{"Accept-Language": "en-GB"})
    assert html_lang(page) == "en"
    missing = await welsh.client.get("/no/such/page", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "Heb ei ganfod" in missing.text
    json_404 = await welsh.client.get("/no/such/page", headers={"Accept": "application/json"})
    assert json_404.json()["error"] == "Does dim byd yn y cyfeiriad hwn."


def test_a_language_the_node_does_not_speak_stops_it_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"TOCSIN_LANGUAGE must be one of en .*'fr'"):
        load_settings({"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_LANGUAGE": "fr"})
    settings = load_settings({"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_LANGUAGE": "CY"})
    assert settings.language == "cy"


async def _event(node: Node) -> None:
    form = ev.EventForm(
        title="Cyfarfod tenantiaid",
        start=f"{DAY:%Y-%m-%d} 19:00",
        end=f"{DAY:%Y-%m-%d} 21:00",
        timezone="Europe/London",
        location="Neuadd y Dref",
    )
    async with node.ctx.sessions() as session, session.begin():
        await ev.create_event(node.ctx, session, form)


async def test_a_welsh_page_has_welsh_dates_and_headings(start_node: NodeFactory) -> None:
    node = await start_node(worker=False)
    await _event(node)
    page, _ = await get(node, "/calendar", **{"Accept-Language": "cy"})
    assert f"Dydd Mawrth {DAY.day} Chwefror {DAY.year}" in page  # the day's heading
    assert f"Maw {DAY.day} Chwef {DAY.year}, 19:00{DASH}21:00 (Europe/London)" in page
    page, _ = await get(node, "/calendar", **{"Accept-Language": "es"})
    assert f"martes, {DAY.day} de febrero de {DAY.year}" in page
    page, _ = await get(node, "/calendar", **{"Accept-Language": "en"})
    assert f"Tuesday {DAY.day} February {DAY.year}" in page
    assert f"Tue {DAY.day} Feb {DAY.year}, 19:00{DASH}21:00 (Europe/London)" in page


async def test_the_page_cache_never_serves_one_language_to_another(
    start_node: NodeFactory,
) -> None:
    node = await start_node(worker=False)
    await _event(node)
    rounds = ["en", "cy", "es", "en", "cy", "es"]  # the second round is served from the cache
    seen: dict[str, set[str]] = {}
    for language in rounds:
        page, headers = await get(node, "/", **{"Accept-Language": language})
        assert html_lang(page) == language and headers["content-language"] == language
        seen.setdefault(language, set()).add(headers["etag"])
    assert all(len(tags) == 1 for tags in seen.values())  # the same bytes each time
    english_tag = next(iter(seen["en"]))
    welsh = await node.client.get(
        "/", headers={"Accept": "text/html", "Accept-Language": "cy", "If-None-Match": english_tag}
    )
    assert welsh.status_code == 200 and html_lang(welsh.text) == "cy"  # not a 304
    again = await node.client.get(
        "/", headers={"Accept": "text/html", "Accept-Language": "en", "If-None-Match": english_tag}
    )
    assert again.status_code == 304 and "Accept-Language" in again.headers["vary"]


async def test_feeds_speak_the_reader_language_and_say_so(start_node: NodeFactory) -> None:
    node = await start_node(worker=False)
    await _event(node)
    welsh = await node.client.get("/calendar.ics", headers={"Accept-Language": "cy"})
    assert welsh.headers["content-language"] == "cy"
    assert "Accept-Language" in welsh.headers["vary"]
    assert "calendr y ffederasiwn" in welsh.text
    english = await node.client.get("/calendar.ics", headers={"Accept-Language": "en"})
    assert english.headers["content-language"] == "en" and "federation calendar" in english.text
