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
from node.i18n import gettext as _


def headline_words(headline: str) -> str:
    """The headline followers see for the state a change leads to (the words of
    issue 13), in the current language: what federates is in the node's."""
    words = {
        "open": _("GO — people needed now"),
        "enough": _("ENOUGH PEOPLE — stand down unless you were confirmed"),
        "met": _("ALL CLEAR — thank you"),
        "false-alarm": _("FALSE ALARM — do not go"),
        "cancelled": _("CANCELLED — do not go"),
        "reopened": _("MORE PEOPLE NEEDED — open again"),
    }
    return words[headline]


def state_words(status: str) -> str:
    """A callout's state in words, for pages, lists and the command line."""
    words = {
        "unverified": _("UNVERIFIED — being checked"),
        "open": _("GO"),
        "enough": _("ENOUGH PEOPLE"),
        "met": _("ALL CLEAR"),
        "false-alarm": _("FALSE ALARM"),
        "cancelled": _("CANCELLED"),
    }
    return words.get(status, words["open"])


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
    parts = [f"<strong>{escape(headline_words(headline))}</strong>: {escape(callout.title)}"]
    if headline in ("open", "reopened"):
        parts.append(_("Needed: %(needed)s", needed=escape(callout.needed)))
        if where:
            parts.append(_("Where: %(place)s", place=escape(where)))
        start = escape(format_moment(callout.starts_at, callout.timezone))
        parts.append(_("From: %(start)s", start=start))
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
    place = escape(address) + (f" ({escape(callout.area)})" if callout.area else "")
    start = escape(format_moment(callout.starts_at, callout.timezone))
    lines = [
        _("You are confirmed for %(title)s. Please come.", title=escape(callout.title)),
        _("Where: %(place)s", place=place),
        _("From: %(start)s", start=start),
    ]
    if callout.contact:
        lines.append(_("Contact: %(who)s", who=escape(callout.contact)))
    lines.append(_("Please do not share the address.") + " " + _link(callout))
    return _paragraphs(actor_uri, mention, lines)


def standby_message(callout: Callout, actor_uri: str, mention: str) -> str:
    lines = [
        _("Thank you: you are on standby for %(title)s.", title=escape(callout.title)),
        _("Enough people are confirmed for now. Do not go unless we message you again."),
        _link(callout),
    ]
    return _paragraphs(actor_uri, mention, lines)


def called_off_message(callout: Callout, actor_uri: str, mention: str) -> str:
    headline = headline_words("false-alarm" if callout.status == "false-alarm" else "cancelled")
    lines = [f"{escape(headline)}: {escape(callout.title)}.", _link(callout)]
    return _paragraphs(actor_uri, mention, lines)
