"""What each change of a callout (or event) is called in an alert.

``CALLOUT_CHANGES`` names every change the callout state machine may queue an
alert for (see ``node.alerts.queue.queue_callout_alerts``), ``PERSONAL_CHANGES``
what one subscriber who answered is told of their place; the words are what
a person reads on a lock screen at 7am, so they say what to do, briefly.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.i18n import gettext as _
from node.i18n import pgettext


@dataclass(frozen=True)
class ChangeWords:
    headline: str  # before the title: "New callout: Eviction at 7am"
    state: str  # the state in words, one sentence


def _callout_words() -> dict[str, ChangeWords]:
    return {
        "published": ChangeWords(_("New callout"), _("People are needed.")),
        "confirmed": ChangeWords(
            pgettext("callout", "Confirmed"), _("The organisers confirmed it: this is happening.")
        ),
        "enough": ChangeWords(
            _("Enough people"), _("Enough people are coming; answer to be on standby.")
        ),
        "met": ChangeWords(_("Met"), _("Enough people answered. Thank you; no need to come.")),
        "false-alarm": ChangeWords(_("False alarm"), _("It was a false alarm. Please stand down.")),
        "cancelled": ChangeWords(
            _("Cancelled"), _("This callout was called off. Please stand down.")
        ),
        "reopened": ChangeWords(_("Reopened"), _("People are needed again.")),
    }


def _event_words() -> dict[str, ChangeWords]:
    return {"published": ChangeWords(_("New event"), _("A new event was published."))}


CALLOUT_CHANGES = frozenset(
    ("published", "confirmed", "enough", "met", "false-alarm", "cancelled", "reopened")
)
EVENT_CHANGES = frozenset(("published",))


PERSONAL_CHANGES: dict[str, str] = {
    "you-confirmed": "confirmed",
    "you-standby": "standby",
    "you-called-off": "called-off",
}
"""Alerts for one subscriber who answered a callout through their alert link, by
the dispatch's message kind (``node.content.dispatch.MESSAGES``): queued only by
``node.alerts.queue.queue_personal_alert``, never fanned out. Only
"you-confirmed" carries the private address (``node.alerts.render.personal_alert``)."""


def words_for(subject: str, change: str) -> ChangeWords:
    """The words of ``change`` of a ``callout`` or ``event``, in the current language
    (alerts go out in the node's: ``node.alerts.sender``); KeyError if unknown."""
    table = _callout_words() if subject == "callout" else _event_words()
    return table[change]


def callout_change(previous: str | None, status: str) -> str | None:
    """The change a remote callout went through, from its previous status (None:
    newly received) to ``status``; None when there is nothing to tell."""
    if previous == status:
        return None
    if previous is None:
        return "published" if status == "open" else None
    if status == "open":
        return "reopened"
    return {
        "met": "met",
        "cancelled": "cancelled",
        "false_alarm": "false-alarm",
        "false-alarm": "false-alarm",
        "enough": "enough",
        "confirmed": "confirmed",
    }.get(status)
