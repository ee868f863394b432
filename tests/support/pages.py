"""Helpers of the public site tests (tests/node/web/*) and of the feed and
remote-follow tests: making local and followed content on a real node, and
checking that a page is well-formed HTML without inline script or style."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from federation.hosts import url_authority
from node.content import callouts as co
from node.content import events as ev
from node.content.lookup import find_local
from node.content.models import Callout, Event
from node.identity import group_actor
from node.models import Following, LocalActor, RemoteActor
from tests.support.nodes import Node

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
AS2 = "application/activity+json"
STATIC = Path(__file__).resolve().parents[2] / "node" / "static"


def day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).strftime("%Y-%m-%d")


# -- making content ---------------------------------------------------------------------------


async def make_event(node: Node, **fields: Any) -> Event:
    values: dict[str, Any] = {
        "title": "Tenants' assembly",
        "start": f"{day(7)} 19:00",
        "end": f"{day(7)} 21:00",
        "timezone": "Europe/London",
        "location": "Community Hall",
        "address": "1 High Street",
        "tags": ["housing"],
        "description": "Bring *neighbours*.",
        **fields,
    }
    async with node.ctx.sessions() as session, session.begin():
        return await ev.create_event(node.ctx, session, ev.EventForm(**values))


async def make_callout(node: Node, **fields: Any) -> Callout:
    values: dict[str, Any] = {
        "title": "Eviction at 7am",
        "needed": "People at the door",
        "people": "20",
        "until": f"{day(3)} 09:00",
        "urgency": "urgent",
        "contact": "Signal: 07000 000000",
        "address": "5 Low Road",
        "timezone": "Europe/London",
        **fields,
    }
    async with node.ctx.sessions() as session, session.begin():
        return await co.create_callout(node.ctx, session, co.CalloutForm(**values))


async def cancel_event(node: Node, event: Event) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await ev.cancel_event(node.ctx, session, await find_local(session, Event, event.uri))


async def set_callout_status(node: Node, callout: Callout, status: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        await co.set_status(node.ctx, session, mine, status)


async def set_profile(node: Node, display_name: str, summary: str) -> None:
    async with node.ctx.sessions() as session, session.begin():
        await session.execute(
            update(LocalActor)
            .where(LocalActor.kind == "group")
            .values(display_name=display_name, summary=summary)
        )


async def followed_node(node: Node, host: str, name: str, username: str = "network") -> str:
    """A remote node this one follows (accepted), as the database would hold it."""
    uri = f"https://{host}/actors/{username}"
    async with node.ctx.sessions() as session, session.begin():
        actor = RemoteActor(
            uri=uri,
            domain=host,
            type="Group",
            preferred_username=username,
            name=name,
            summary="",
            url=f"https://{host}/",
            inbox=f"{uri}/inbox",
            shared_inbox=f"https://{host}/inbox",
            raw={},
        )
        session.add(actor)
        await session.flush()
        local = await group_actor(session)
        session.add(
            Following(
                local_actor_id=local.id,
                remote_actor_id=actor.id,
                follow_uri=f"https://{node.settings.host}/follows/{host}",
                state="accepted",
            )
        )
    return uri


async def remote_event(
    node: Node,
    actor_uri: str,
    title: str,
    *,
    start: datetime | None = None,
    hours: int = 2,
    tags: list[str] | None = None,
    status: str = "scheduled",
    timezone: str = "Europe/Berlin",
) -> Event:
    start = start or datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
    host = url_authority(actor_uri)
    async with node.ctx.sessions() as session, session.begin():
        event = Event(
            uri=f"https://{host}/events/{abs(hash((title, start)))}",
            url=f"https://{host}/e/{abs(hash(title))}",
            local=False,
            actor_uri=actor_uri,
            origin_domain=host,
            title=title,
            description_html="<p>From afar</p>",
            summary_text="",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            timezone=timezone,
            all_day=False,
            tags=tags or [],
            status=status,
            location_name="Kiezladen",
            location_address="Hauptstr. 1",
        )
        session.add(event)
    return event


async def remote_callout(node: Node, actor_uri: str, title: str, urgency: str) -> Callout:
    host = url_authority(actor_uri)
    now = datetime.now(UTC).replace(microsecond=0)
    async with node.ctx.sessions() as session, session.begin():
        callout = Callout(
            uri=f"https://{host}/callouts/{abs(hash(title))}",
            url=f"https://{host}/callouts/{abs(hash(title))}",
            local=False,
            actor_uri=actor_uri,
            origin_domain=host,
            title=title,
            needed="Hands",
            urgency=urgency,
            starts_at=now,
            ends_at=now + timedelta(days=1),
            timezone="UTC",
            status="open",
            content_html="<p>Come</p>",
        )
        session.add(callout)
    return callout


# -- checking pages ---------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class PageChecker(HTMLParser):
    """Well-formedness and the accessibility and CSP rules every page must keep."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.label_for: list[str] = []
        self.references: list[str] = []
        self.controls: list[str | None] = []
        self.headings: list[int] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        for name in attributes:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"inline {name} on <{tag}>")
        if "id" in attributes:
            self.ids.append(attributes["id"] or "")
        for name in ("aria-describedby", "aria-labelledby"):
            self.references.extend((attributes.get(name) or "").split())
        if tag == "label" and attributes.get("for"):
            self.label_for.append(attributes["for"] or "")
        if tag in ("input", "select", "textarea") and attributes.get("type") not in (
            "hidden",
            "submit",
        ):
            self.controls.append(attributes.get("id"))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not (attributes.get("src") or "").startswith("/static/"):
            self.problems.append("script without a same-origin src")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close <{self.stack[-1:]}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "script" and data.strip():
            self.script_text += data


def check_page(html: str) -> PageChecker:
    """Parse ``html`` and assert the rules; returns the checker for further asserts."""
    checker = PageChecker()
    checker.feed(html)
    checker.close()
    assert checker.doctype, "no <!doctype html>"
    assert not checker.problems, checker.problems
    assert not checker.stack, f"unclosed: {checker.stack}"
    assert not checker.script_text, "inline script"
    assert len(checker.ids) == len(set(checker.ids)), f"duplicate ids: {checker.ids}"
    for ref in checker.label_for + checker.references:
        assert ref in checker.ids, f"reference to a missing id {ref!r}"
    for control in checker.controls:
        assert control in checker.label_for, f"form control {control!r} has no label"
    assert checker.headings.count(1) == 1, "one <h1> per page"
    for before, after in zip(checker.headings, checker.headings[1:], strict=False):
        assert after <= before + 1, f"heading level skips from h{before} to h{after}"
    html_tags = [a for t, a in checker.tags if t == "html"]
    assert html_tags and html_tags[0].get("lang") == "en"
    assert any(
        t == "meta" and a.get("name") == "viewport" and "width=device-width" in (a["content"] or "")
        for t, a in checker.tags
    )
    assert ("main", {"id": "main", "tabindex": "-1"}) in checker.tags
    assert ("a", {"class": "skip-link", "href": "#main"}) in checker.tags
    for tag, attributes in checker.tags:
        loaded = tag in ("script", "img") or (
            tag == "link" and attributes.get("rel") == "stylesheet"
        )
        if loaded:
            source = attributes.get("src") or attributes.get("href") or ""
            assert source.startswith("/static/"), f"asset from elsewhere: {source!r}"
    return checker


def alternates(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for match in re.finditer(r'<link rel="alternate" type="([^"]+)"[^>]*href="([^"]+)"', html):
        found.setdefault(match.group(1), []).append(match.group(2))
    return found


async def get_page(node: Node, path: str, status: int = 200) -> httpx.Response:
    response = await node.client.get(path, headers=HTML)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "style-src 'self'" in response.headers["content-security-policy"]
    check_page(response.text)
    return response


def position(html: str, text: str) -> int:
    index = html.find(text)
    assert index >= 0, f"{text!r} not on the page"
    return index


def urlsplit_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
