"""Telling followers about one of our callouts: the ``Update`` of its ``Question``
(with the answer totals counted now) and, when its state changes, a short
public ``Note`` in reply to it, so that timelines show the news too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from federation.fanout import Recipient
from node.ap.activities import state_note_to_as
from node.ap.callouts import callout_to_as
from node.content.callout_text import state_note_html
from node.content.models import Callout, CalloutResponse
from node.content.publish import publish
from node.context import NodeContext
from node.i18n import speaking
from node.identity import group_actor
from node.models import RemoteActor
from node.outbox import new_activity_id


async def actor_id(node: NodeContext, session: AsyncSession) -> str:
    return node.urls.actor((await group_actor(session)).username)


async def publish_callout_update(
    node: NodeContext, session: AsyncSession, callout: Callout
) -> Callout:
    now = datetime.now(UTC)
    callout.updated_at = now
    await session.flush()
    await take_tally(session, callout, now)
    actor = await actor_id(node, session)
    await publish(
        node,
        session,
        "Update",
        callout_to_as(callout, node.urls, actor, now=now, language=node.settings.language),
        extra_recipients=await voters(session, callout),
    )
    return callout


async def publish_state_note(
    node: NodeContext, session: AsyncSession, callout: Callout, headline: str
) -> None:
    """A public Note from the node actor, in reply to the callout, saying what to do."""
    local = await group_actor(session)
    language = node.settings.language
    with speaking(language):
        content = state_note_html(callout, headline)
    note = state_note_to_as(
        note_id=new_activity_id(node.urls),
        actor=node.urls.actor(local.username),
        followers=node.urls.followers(local.username),
        in_reply_to=callout.uri,
        content=content,
        url=callout.url,
        published=datetime.now(UTC),
        language=language,
    )
    await publish(node, session, "Create", note)


def response_count(option: str) -> Any:
    return (
        select(func.count())
        .where(CalloutResponse.callout_id == Callout.id, CalloutResponse.option == option)
        .scalar_subquery()
    )


async def take_tally(session: AsyncSession, callout: Callout, now: datetime) -> None:
    """Count the responses and store the totals being published, in one statement.

    One statement reads one snapshot: a vote committed after it is not in these
    totals, so the counts differ again and a later Update carries it.
    """
    counts = (
        await session.execute(
            update(Callout)
            .where(Callout.id == callout.id)
            .values(
                come_count=response_count("come"),
                help_count=response_count("help"),
                tally_published_at=now,
            )
            .returning(Callout.come_count, Callout.help_count)
            .execution_options(synchronize_session=False)
        )
    ).one()
    for name, value in (
        ("come_count", counts.come_count),
        ("help_count", counts.help_count),
        ("tally_published_at", now),
    ):
        set_committed_value(callout, name, value)


async def voters(session: AsyncSession, callout: Callout) -> list[Recipient]:
    """The inboxes of the accounts that answered, so their poll shows the new
    totals too: two columns per distinct pair, no actor object (a storm's tally
    Update reads thousands of them)."""
    rows = await session.execute(
        select(RemoteActor.inbox, RemoteActor.shared_inbox)
        .join(CalloutResponse, CalloutResponse.actor_uri == RemoteActor.uri)
        .where(CalloutResponse.callout_id == callout.id)
        .distinct()
    )
    return list(rows.all())
