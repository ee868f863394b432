"""The state buttons of a callout in the admin: confirm, enough, reopen, close
(all clear), false alarm, cancel.

Which buttons show is asked of the state machine (``target_status`` in
``node/content/callout_states.py``), never decided here: a button shows exactly
when its move would be accepted now, so "Closed by mistake? Reopen" shows for
the undo window after a close and then disappears. The final moves (close,
false alarm, cancel) ask for confirmation on a page of their own first; the
others are one POST. A move the state machine refuses (a stale page, two
organisers at once) is shown in words with a 409; each move is audited as
``callout.<action>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.content.callout_states import ACTIONS, UNDO_WINDOW, CalloutStateError, apply_action
from node.content.callout_states import target_status as _target_status
from node.content.models import Callout
from node.context import NodeContext
from node.i18n import lazy_gettext
from node.web.admin.object_pages import (
    Action,
    Confirmation,
    Kind,
    Text,
    act,
    confirm_then_act,
    load_item,
)
from node.web.admin.session import Endpoint, require

UNDO_MINUTES = int(UNDO_WINDOW.total_seconds() // 60)


@dataclass(frozen=True)
class Button:
    """One move as the admin offers it; ``ask`` for the final ones."""

    action: str
    label: Text
    done: str  # the notice code after the move (node/web/admin/listings.py NOTICES)
    ask: Confirmation | None = None

    @property
    def final(self) -> bool:
        return self.ask is not None


BUTTONS = {
    "confirm": Button("confirm", lazy_gettext("Confirm: GO"), "confirmed"),
    "enough": Button("enough", lazy_gettext("Enough people"), "enough"),
    "reopen": Button("reopen", lazy_gettext("Reopen: more people needed"), "reopened"),
    "close": Button(
        "close",
        lazy_gettext("Close: all clear"),
        "closed",
        Confirmation(
            heading=lazy_gettext("Close this callout: all clear?"),
            explanation=lazy_gettext(
                "The poll closes, the callout shows ALL CLEAR and followers are "
                "told. Closed by mistake? You can reopen it within %(minutes)s minutes.",
                minutes=UNDO_MINUTES,
            ),
            button=lazy_gettext("Close: all clear"),
        ),
    ),
    "false-alarm": Button(
        "false-alarm",
        lazy_gettext("False alarm"),
        "false-alarm",
        Confirmation(
            heading=lazy_gettext("Mark this callout a false alarm?"),
            explanation=lazy_gettext(
                "Followers are told FALSE ALARM — do not go; anyone already confirmed "
                "is told not to go. This cannot be undone."
            ),
            button=lazy_gettext("Mark a false alarm"),
        ),
    ),
    "cancel": Button(
        "cancel",
        lazy_gettext("Cancel"),
        "cancelled",
        Confirmation(
            heading=lazy_gettext("Call this callout off?"),
            explanation=lazy_gettext(
                "The poll closes, the callout is marked cancelled and followers are "
                "told; confirmed responders are told not to go. If enough people came, close "
                "it as all clear instead. This cannot be undone."
            ),
            button=lazy_gettext("Cancel the callout"),
        ),
    ),
}
UNDO_CLOSE = Button("reopen", lazy_gettext("Closed by mistake? Reopen"), "reopened")


def allowed_buttons(callout: Callout, now: datetime) -> list[Button]:
    """The moves the state machine accepts for ``callout`` now, in the table's order."""
    buttons = []
    for action in ACTIONS:
        try:
            _target_status(callout, action, now)
        except CalloutStateError:
            continue
        undo = action == "reopen" and callout.status == "met"
        buttons.append(UNDO_CLOSE if undo else BUTTONS[action])
    return buttons


def _move(action: str) -> Action[Callout]:
    async def change(node: NodeContext, session: AsyncSession, callout: Callout) -> Callout:
        return await apply_action(node, session, callout, action, now=datetime.now(UTC))

    return Action(verb=action, change=change, done=BUTTONS[action].done)


async def move_page(request: Request, kind: Kind[Callout, Any], action: str) -> Response:
    """POST: move the callout. GET (final moves only): ask first, or say why it may not."""
    button = BUTTONS[action]
    if request.method == "POST" or button.ask is None:
        return await act(request, kind, _move(action))
    callout = await load_item(request, Callout)
    if callout is not None:
        try:
            _target_status(callout, action, datetime.now(UTC))
        except CalloutStateError as exc:
            return await kind.listing(request, exc.message + ".")
    return await confirm_then_act(request, kind, _move(action), button.ask)


def move_routes(kind: Kind[Callout, Any]) -> list[Route]:
    """``/admin/callouts/{id}/<action>`` for every move; GET too where it asks first."""

    def endpoint(action: str) -> Endpoint:
        @require("editor")
        async def move(request: Request) -> Response:
            return await move_page(request, kind, action)

        return move

    return [
        Route(
            f"/admin/callouts/{{id}}/{action}",
            endpoint(action),
            methods=["GET", "POST"] if BUTTONS[action].ask else ["POST"],
            name=f"callout_{action}",
        )
        for action in ACTIONS
    ]
