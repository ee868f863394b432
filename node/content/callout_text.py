"""The words of a callout's news: the public posts about its state, and the
direct messages to the people who answered.

Public words never contain the private address: they name the public place
(``public_where``). Only ``confirmed_message`` carries the exact address, and
it goes to one confirmed responder at a time.
"""

from __future__ import annotations

from html import escape

from node.content.models import Callout
from node.content.text import format_moment, format_where

# the state a change leads to -> the headline followers see (the words of issue 13)
HEADLINES: dict[str, str] = {
    "open": "GO — people needed now",
    "enough": "ENOUGH PEOPLE — stand down unless you were confirmed",
    "met": "ALL CLEAR — thank you",
    "false-alarm": "FALSE ALARM — do not go",
    "cancelled": "CANCELLED — do not go",
    "reopened": "MORE PEOPLE NEEDED — open again",
}
# a callout's state in words, for pages, lists and the command line
STATE_WORDS: dict[str, str] = {
    "unverified": "UNVERIFIED — being checked",
    "open": "GO",
    "enough": "ENOUGH PEOPLE",
    "met": "ALL CLEAR",
    "false-alarm": "FALSE ALARM",
    "cancelled": "CANCELLED",
}


def state_words(status: str) -> str:
    return STATE_WORDS.get(status, STATE_WORDS["open"])


def public_where(callout: Callout) -> str:
    """Where, as anyone may read it: the area, and the place only when no address is private."""
    if callout.private_address:
        return callout.area
    place = format_where(callout.location_name, callout.location_address, callout.online_url)
    if callout.area and callout.area not in place:
        return ", ".join(part for part in (place, callout.area) if part)
    return place


def _link(callout: Callout) -> str:
    return f'<a href="{escape(callout.url)}">{escape(callout.url)}</a>'


def state_note_html(callout: Callout, headline: str) -> str:
    """The public post for a change: the headline, the callout, its link."""
    where = public_where(callout)
    parts = [f"<strong>{escape(HEADLINES[headline])}</strong>: {escape(callout.title)}"]
    if headline in ("open", "reopened"):
        parts.append(f"Needed: {escape(callout.needed)}")
        if where:
            parts.append(f"Where: {escape(where)}")
        parts.append(f"From: {escape(format_moment(callout.starts_at, callout.timezone))}")
    return "".join(f"<p>{part}</p>" for part in [*parts, _link(callout)])


def _mention(actor_uri: str, mention: str) -> str:
    user = mention.lstrip("@").split("@", 1)[0]
    return (
        f'<span class="h-card"><a href="{escape(actor_uri)}" class="u-url mention">'
        f"@<span>{escape(user)}</span></a></span>"
    )


def _paragraphs(actor_uri: str, mention: str, lines: list[str]) -> str:
    first, *rest = lines
    return "".join(f"<p>{part}</p>" for part in [f"{_mention(actor_uri, mention)} {first}", *rest])


def confirmed_message(callout: Callout, actor_uri: str, mention: str) -> str:
    """The one message with the exact address: for a confirmed responder only."""
    address = callout.private_address or public_where(callout)
    lines = [
        f"You are confirmed for {escape(callout.title)}. Please come.",
        f"Where: {escape(address)}" + (f" ({escape(callout.area)})" if callout.area else ""),
        f"From: {escape(format_moment(callout.starts_at, callout.timezone))}",
    ]
    if callout.contact:
        lines.append(f"Contact: {escape(callout.contact)}")
    lines.append("Please do not share the address. " + _link(callout))
    return _paragraphs(actor_uri, mention, lines)


def standby_message(callout: Callout, actor_uri: str, mention: str) -> str:
    lines = [
        f"Thank you: you are on standby for {escape(callout.title)}.",
        "Enough people are confirmed for now. Do not go unless we message you again.",
        _link(callout),
    ]
    return _paragraphs(actor_uri, mention, lines)


def called_off_message(callout: Callout, actor_uri: str, mention: str) -> str:
    headline = HEADLINES["false-alarm" if callout.status == "false-alarm" else "cancelled"]
    lines = [f"{escape(headline)}: {escape(callout.title)}.", _link(callout)]
    return _paragraphs(actor_uri, mention, lines)
