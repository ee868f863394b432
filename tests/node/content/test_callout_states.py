"""The callout state table: every allowed move, every refused one with its message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from node.content.callout_states import ACTIONS, MOVES, STATES, CalloutStateError, target_status
from node.content.models import Callout

NOW = datetime(2026, 2, 3, 6, 0, tzinfo=UTC)
ALLOWED = {
    ("unverified", "confirm"): "open",
    ("unverified", "false-alarm"): "false-alarm",
    ("open", "enough"): "enough",
    ("open", "close"): "met",
    ("open", "cancel"): "cancelled",
    ("enough", "reopen"): "open",
    ("enough", "close"): "met",
    ("enough", "cancel"): "cancelled",
    ("met", "reopen"): "open",  # within the undo window
}


def callout(status: str, **changes: object) -> Callout:
    values: dict[str, object] = {
        "status": status,
        "people_needed": 5,
        "confirmed_count": 2,
        "ended_at": NOW - timedelta(minutes=3),
        "updated_at": NOW - timedelta(minutes=3),
    }
    values.update(changes)
    return Callout(**values)


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in STATES for a in ACTIONS])
def test_every_move_is_allowed_or_refused_as_the_table_says(state: str, action: str) -> None:
    expected = ALLOWED.get((state, action))
    if expected is None:
        with pytest.raises(CalloutStateError) as refused:
            target_status(callout(state), action, NOW)
        assert refused.value.message[0].isupper() and len(refused.value.message) > 20
    else:
        assert target_status(callout(state), action, NOW) == expected


def test_the_table_is_the_moves_of_the_issue() -> None:
    table = {(s, a): target for a, (sources, target) in MOVES.items() for s in sources}
    assert table == ALLOWED


@pytest.mark.parametrize(
    ("state", "action", "words"),
    [
        ("false-alarm", "reopen", "A false alarm cannot be reopened"),
        ("open", "confirm", "Only an unverified callout can be confirmed"),
        ("unverified", "cancel", "mark it a false alarm"),
        ("met", "close", "Only an open or enough callout can be closed"),
    ],
)
def test_refusals_say_what_to_do(state: str, action: str, words: str) -> None:
    with pytest.raises(CalloutStateError, match=words):
        target_status(callout(state), action, NOW)


def test_a_close_can_be_undone_only_within_the_window() -> None:
    late = callout("met", ended_at=NOW - timedelta(minutes=11))
    with pytest.raises(CalloutStateError, match="only within 10 minutes"):
        target_status(late, "reopen", NOW)


def test_reopening_a_full_callout_asks_for_more_places_first() -> None:
    with pytest.raises(CalloutStateError, match="raise the number needed"):
        target_status(callout("enough", confirmed_count=5), "reopen", NOW)
