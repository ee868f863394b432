"""Events and callouts as Atom feeds (RFC 4287) for feed readers.

Built as an element tree and serialised by ``xml.etree.ElementTree``, which
escapes every text and attribute: no untrusted text is ever pasted into XML.
Characters XML 1.0 forbids (control characters, lone surrogates) are dropped
first, because a single one makes the whole feed unreadable.

An entry's ``id`` is the object's ActivityStreams id; ``updated`` is its last
change, so a reader shows a changed event (cancelled, moved) as updated.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from node import __version__
from node.ap.dates import iso_utc
from node.content.calendar import Entry
from node.content.models import Callout, Event
from node.content.text import callout_content_html, event_summary, urgency_word
from node.i18n import gettext as _

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedInfo:
    feed_url: str  # also the feed's id
    title: str
    subtitle: str
    page_url: str  # the HTML page the feed mirrors
    author: str
    author_url: str
    updated: datetime


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    url: str
    published: datetime
    updated: datetime
    summary: str  # plain text
    content_html: str  # sanitised HTML
    author: str
    author_url: str
    categories: list[str] = field(default_factory=list)


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry."""
    return _NOT_XML.sub("", text or "")


def event_entry(entry: Entry) -> FeedEntry:
    event = entry.item
    assert isinstance(event, Event)
    summary = event_summary(event)
    prefix = _("Cancelled:") + " " if event.status == "cancelled" else ""
    return FeedEntry(
        id=event.uri,
        title=prefix + event.title,
        url=event.url,
        published=event.published_at,
        updated=event.updated_at,
        summary=summary,
        content_html=f"<p>{escape(summary)}</p>{event.description_html}",
        author=entry.origin.name,
        author_url=entry.origin.url,
        categories=list(event.tags or []),
    )


def callout_entry(entry: Entry, *, base: str, now: datetime) -> FeedEntry:
    callout = entry.item
    assert isinstance(callout, Callout)
    state = {"cancelled": _("Cancelled"), "met": _("Met")}.get(callout.status)
    if state is None and callout.ends_at <= now:
        state = _("Expired")
    label = state or urgency_word(callout.urgency)
    content = (
        callout_content_html(callout, base=base, now=now) if callout.local else callout.content_html
    )
    return FeedEntry(
        id=callout.uri,
        title=_("%(change)s: %(title)s", change=label, title=callout.title),
        url=callout.url,
        published=callout.published_at,
        updated=callout.updated_at,
        summary=_("Needed: %(needed)s", needed=callout.needed),
        content_html=content,
        author=entry.origin.name,
        author_url=entry.origin.url,
        categories=["callout", callout.urgency],
    )


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _person(parent: ET.Element, name: str, url: str) -> None:
    author = _add(parent, "author")
    _add(author, "name", name or url)
    if url.startswith(("https://", "http://")):
        _add(author, "uri", url)


def _entry(feed: ET.Element, item: FeedEntry) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", item.id)
    _add(entry, "title", item.title, type="text")
    _add(entry, "link", rel="alternate", type="text/html", href=item.url)
    _add(entry, "published", iso_utc(item.published))
    _add(entry, "updated", iso_utc(item.updated))
    _person(entry, item.author, item.author_url)
    for term in item.categories:
        _add(entry, "category", term=term)
    _add(entry, "summary", item.summary, type="text")
    _add(entry, "content", item.content_html, type="html")


def render_feed(info: FeedInfo, entries: Sequence[FeedEntry]) -> bytes:
    """The Atom document, UTF-8, with an XML declaration."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: "en"})
    _add(feed, "id", info.feed_url)
    _add(feed, "title", info.title, type="text")
    if info.subtitle:
        _add(feed, "subtitle", info.subtitle, type="text")
    _add(feed, "updated", iso_utc(info.updated))
    _add(feed, "link", rel="self", type="application/atom+xml", href=info.feed_url)
    _add(feed, "link", rel="alternate", type="text/html", href=info.page_url)
    _person(feed, info.author, info.author_url)
    _add(feed, "generator", "Tocsin", version=__version__)
    for item in entries:
        _entry(feed, item)
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
