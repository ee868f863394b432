"""A callout's states and the moves between them, as a table, and the one way to move.

- ``confirm``: ``unverified`` -> ``open``
- ``false-alarm``: ``unverified`` -> ``false-alarm``
- ``enough``: ``open`` -> ``enough``
- ``reopen``: ``enough`` (with room for more), or ``met`` within ``UNDO_WINDOW`` -> ``open``
- ``close``: ``open`` or ``enough`` -> ``met``
- ``cancel``: ``open`` or ``enough`` -> ``cancelled``

``open`` becomes ``enough`` by itself when the confirmed responders reach the
number needed (``settle``, run after every dispatch, in the same transaction as
the vote or action that confirmed them); ``enough`` never reopens by itself.
Every move goes out as an ``Update`` of the ``Question`` and a public ``Note``
(``node.content.callout_publish``); confirmed responders get their direct
messages on ``confirm`` and ``reopen``, and are told not to go on ``cancel``
and ``false-alarm`` (``node.content.dispatch``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.support import LazyProxy
from sqlalchemy.ext.asyncio import AsyncSession

from node.alerts.queue import queue_callout_alerts
from node.content import dispatch
from node.content.callout_publish import publish_callout_update, publish_state_note
from node.content.models import Callout
from node.content.validation import ContentError
from node.context import NodeContext
from node.i18n import gettext as _
from node.i18n import lazy_gettext

STATES = ("unverified", "open", "enough", "met", "false-alarm", "cancelled")
FINAL = frozenset({"met", "false-alarm", "cancelled"})
ACTIONS = ("confirm", "enough", "reopen", "close", "false-alarm", "cancel")
UNDO_WINDOW = timedelta(minutes=10)  # a close can be undone (reopened) this long after

# action -> (the states it applies to, the state it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "confirm": (frozenset({"unverified"}), "open"),
    "false-alarm": (frozenset({"unverified"}), "false-alarm"),
    "enough": (frozenset({"open"}), "enough"),
    "reopen": (frozenset({"enough", "met"}), "open"),
    "close": (frozenset({"open", "enough"}), "met"),
    "cancel": (frozenset({"open", "enough"}), "cancelled"),
}
# (action, from) -> why it is refused, where a plainer word than the default helps
REFUSALS: dict[tuple[str, str], LazyProxy] = {
    ("reopen", "false-alarm"): lazy_gettext(
        "A false alarm cannot be reopened: create a new callout"
    ),
    ("reopen", "cancelled"): lazy_gettext(
        "A cancelled callout cannot be reopened: create a new callout"
    ),
    ("reopen", "open"): lazy_gettext("This callout is already open"),
    ("reopen", "unverified"): lazy_gettext("This callout is being checked: confirm it instead"),
    ("cancel", "unverified"): lazy_gettext(
        "An unverified callout is not cancelled: mark it a false alarm"
    ),
    ("close", "unverified"): lazy_gettext(
        "An unverified callout cannot be closed: confirm it or mark it a false alarm"
    ),
    ("enough", "unverified"): lazy_gettext(
        "Only an open callout can be marked enough: confirm it first"
    ),
    ("enough", "enough"): lazy_gettext("This callout is already marked enough"),
}
_ONLY: dict[str, LazyProxy] = {
    "confirm": lazy_gettext("Only an unverified callout can be confirmed"),
    "false-alarm": lazy_gettext("Only an unverified callout can be marked a false alarm"),
    "enough": lazy_gettext("Only an open callout can be marked enough"),
    "close": lazy_gettext("Only an open or enough callout can be closed"),
    "cancel": lazy_gettext("Only an open or enough callout can be cancelled"),
    "reopen": lazy_gettext(
        "Only a callout marked enough, or closed in the last 10 minutes, can be reopened"
    ),
}


class CalloutStateError(ContentError):
    """A move the table does not allow; the message says what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__("status", message)

    def __str__(self) -> str:
        return self.message


def target_status(callout: Callout, action: str, now: datetime) -> str:
    """Where ``action`` takes ``callout`` now; raises ``CalloutStateError`` if it may not."""
    if action not in MOVES:
        raise CalloutStateError(
            _(
                "Unknown action %(action)s: use one of %(actions)s",
                action=repr(action),
                actions=", ".join(ACTIONS),
            )
        )
    sources, target = MOVES[action]
    current = callout.status
    if current not in sources:
        refusal = REFUSALS.get((action, current))
        if refusal is None:
            reason = _("%(rule)s (this one is %(state)s)", rule=str(_ONLY[action]), state=current)
        else:
            reason = str(refusal)
        raise CalloutStateError(reason)
    if action == "reopen" and current == "met":
        closed = callout.ended_at or callout.updated_at
        if now - closed > UNDO_WINDOW:
            minutes = int(UNDO_WINDOW.total_seconds() // 60)
            raise CalloutStateError(
                _(
                    "A close can be undone only within %(minutes)s minutes; "
                    "this one was closed earlier: create a new callout",
                    minutes=minutes,
                )
            )
    if action == "reopen" and current == "enough" and dispatch.is_full(callout):
        raise CalloutStateError(
            _(
                "All %(count)s people needed are confirmed: raise the number "
                "needed (callout update ID --people N) or remove a responder, then reopen",
                count=callout.people_needed,
            )
        )
    return target


def settle(callout: Callout) -> bool:
    """``open`` becomes ``enough`` once the confirmed reach the number needed."""
    if callout.status == "open" and dispatch.is_full(callout):
        callout.status = "enough"
        return True
    return False


async def apply_action(
    node: NodeContext, session: AsyncSession, callout: Callout, action: str, *, now: datetime
) -> Callout:
    """Move ``callout`` by ``action``; publishes the Update, the Note and the messages."""
    target = target_status(callout, action, now)
    callout.status = target
    callout.ended_at = now if target in FINAL else None
    headline = "reopened" if action == "reopen" else target
    if target in ("open", "enough"):
        assigned = await dispatch.assign_roles(session, callout, promote=action == "reopen")
        if settle(callout):
            headline = "enough"
        await dispatch.tell_assigned(node, session, callout, assigned)
    elif target in ("cancelled", "false-alarm"):
        await dispatch.tell_called_off(node, session, callout)
    await publish_callout_update(node, session, callout)
    await publish_state_note(node, session, callout, headline)
    await queue_callout_alerts(node, session, callout, _alert_change(action, headline))
    return callout


def _alert_change(action: str, headline: str) -> str:
    """The change subscribers are told of (``node.alerts.words.CALLOUT_CHANGES``)."""
    if headline == "enough":
        return "enough"
    return {"confirm": "confirmed", "reopen": "reopened"}.get(action, headline)


async def after_dispatch_change(
    node: NodeContext, session: AsyncSession, callout: Callout, *, promote: bool
) -> bool:
    """Re-assign roles after a vote, a removal or a new number needed; message whoever
    changed role; True when that made the callout ``enough`` (its Update and Note
    are then published here)."""
    assigned = await dispatch.assign_roles(session, callout, promote=promote)
    flipped = settle(callout)
    await dispatch.tell_assigned(node, session, callout, assigned)
    if flipped:
        await publish_callout_update(node, session, callout)
        await publish_state_note(node, session, callout, "enough")
        await queue_callout_alerts(node, session, callout, "enough")
    return flipped
