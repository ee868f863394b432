"""Answering one of our callouts from an alert, without a fediverse account.

The page of an alert's personal link (``node.alerts.tokens``) records the
answer as a ``CalloutResponse`` like a fediverse vote, under the subscription's
own ``actor_uri`` (``alert_actor``), so it counts once in the tally and takes
its place in the dispatch order among the fediverse answers
(``node.content.dispatch``). Confirmed, standby and called-off are told by the
subscription's channel (``node.alerts.queue.queue_personal_alert``).

Answering again changes the answer, never adds one: the same option only
updates the name and the way to be reached; the other option replaces the row,
so "I can come" after "I can help another way" joins the end of the queue, and
a confirmed person who now can only help another way frees their place (the
first on standby moves up). An answer an organiser removed stays removed.

Stored: the option, when, the role, and the optional name and way to be
reached the person typed. No IP address, no user agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.alerts.models import AlertSubscription
from node.alerts.tokens import alert_actor, token_matches, token_subscription_id
from node.content.callout_states import after_dispatch_change
from node.content.models import Callout, CalloutResponse
from node.context import NodeContext
from node.i18n import gettext as _

OPTIONS = ("come", "help")
MAX_NAME = 80
MAX_REACH = 200
CLOSED_STATES = frozenset({"met", "cancelled", "false-alarm"})


def _closed_words(status: str) -> str:
    """Why a callout in one of ``CLOSED_STATES`` takes no answers, in the current language."""
    words = {
        "met": _("Enough people answered: this callout is closed."),
        "cancelled": _("This callout was called off."),
        "false-alarm": _("This callout was a false alarm."),
    }
    return words[status]


class AnswerError(Exception):
    """An answer that cannot be taken, with a message a person can act on."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Answer:
    option: str
    name: str
    reach: str


def parse_answer(option: str | None, name: str | None, reach: str | None) -> Answer:
    choice = (option or "").strip()
    if choice not in OPTIONS:
        raise AnswerError(
            _(
                'Choose "%(come)s" or "%(help)s".',
                come=_("I can come"),
                help=_("I can help another way"),
            ),
            400,
        )
    name_text, reach_text = " ".join((name or "").split()), " ".join((reach or "").split())
    if len(name_text) > MAX_NAME:
        raise AnswerError(
            _("The name is too long: %(most)d characters at most.", most=MAX_NAME), 400
        )
    if len(reach_text) > MAX_REACH:
        raise AnswerError(
            _("The way to reach you is too long: %(most)d characters at most.", most=MAX_REACH),
            400,
        )
    return Answer(choice, name_text, reach_text)


async def subscription_for(
    session: AsyncSession, callout_id: int, token: str
) -> AlertSubscription | None:
    """The confirmed subscription whose personal link for ``callout_id`` is ``token``."""
    sub_id = token_subscription_id(token)
    if sub_id is None:
        return None
    subscription = await session.get(AlertSubscription, sub_id)
    if subscription is None or not subscription.confirmed:
        return None
    return subscription if token_matches(subscription, callout_id, token) else None


def closed_reason(callout: Callout, now: datetime) -> str | None:
    """Why ``callout`` takes no answers now (in the current language), or None when it does."""
    if callout.status in CLOSED_STATES:
        return _closed_words(callout.status)
    if callout.ends_at <= now:
        return _("This callout has ended.")
    return None


async def current_answer(
    session: AsyncSession, callout: Callout, subscription: AlertSubscription
) -> CalloutResponse | None:
    return await session.scalar(
        select(CalloutResponse).where(
            CalloutResponse.callout_id == callout.id,
            CalloutResponse.actor_uri == alert_actor(subscription.id),
        )
    )


async def answer_by_alert(
    node: NodeContext,
    session: AsyncSession,
    callout: Callout,
    subscription: AlertSubscription,
    answer: Answer,
) -> CalloutResponse:
    """Record (or change) the subscription's answer and dispatch; the caller commits.

    The callout row is locked first, as a fediverse "I can come" vote locks it,
    so answers at once cannot both take the last place."""
    locked = await session.scalar(
        select(Callout)
        .where(Callout.id == callout.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise AnswerError(_("This callout no longer exists."), 404)
    reason = closed_reason(locked, datetime.now(UTC))
    if reason is not None:
        raise AnswerError(_("%(reason)s No answers are taken any more.", reason=reason), 409)
    existing = await current_answer(session, locked, subscription)
    if existing is not None and existing.role == "removed":
        raise AnswerError(
            _(
                "The organisers took your answer off this callout's list; contact them "
                "if that is a mistake."
            ),
            409,
        )
    if existing is not None and existing.option == answer.option:
        existing.name, existing.reach = answer.name, answer.reach
        return existing
    freed = existing is not None and existing.role == "confirmed"
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    row = CalloutResponse(
        callout_id=locked.id,
        actor_uri=alert_actor(subscription.id),
        option=answer.option,
        activity_uri="",
        created_at=datetime.now(UTC),
        subscription_id=subscription.id,
        name=answer.name,
        reach=answer.reach,
    )
    session.add(row)
    await session.flush()
    if (answer.option == "come" or freed) and locked.status in ("open", "enough"):
        await after_dispatch_change(node, session, locked, promote=freed)
    return row
