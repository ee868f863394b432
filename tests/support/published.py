"""Events and callouts published on a real node from its own code (as the admin
forms would), the copies another node stored, and a fediverse account's vote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from node.content import callouts as co
from node.content import events as ev
from node.content.models import Callout, Event
from tests.support.fediverse import Account
from tests.support.nodes import Node

SOON = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")


async def publish_event(node: Node, **fields: str) -> Event:
    form = ev.EventForm(
        title=fields.get("title", "Tenants' assembly"),
        start=f"{SOON} 19:00",
        end=f"{SOON} 21:00",
        timezone="Europe/London",
        location="Community Hall",
        address="1 High Street",
        tags=["housing"],
        description="Bring *neighbours*.",
    )
    async with node.ctx.sessions() as session, session.begin():
        event = await ev.create_event(node.ctx, session, form)
    node.ctx.wake()
    return event


async def publish_callout(node: Node) -> Callout:
    form = co.CalloutForm(
        title="Eviction at 7am",
        needed="People at the door",
        people="20",
        until=f"{SOON} 09:00",
        urgency="urgent",
        contact="Signal: 07000 000000",
        address="5 Low Road",
        timezone="Europe/London",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form)
    node.ctx.wake()
    return callout


async def stored_event(node: Node, uri: str) -> Event | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Event).where(Event.uri == uri))


async def stored_callout(node: Node, uri: str) -> Callout | None:
    async with node.ctx.sessions() as session:
        return await session.scalar(select(Callout).where(Callout.uri == uri))


def vote(account: Account, callout_uri: str, option: str) -> dict[str, object]:
    """``account``'s answer to a callout's poll, as Mastodon sends a vote."""
    note_id = account.new_id("votes")
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": account.id,
        "to": callout_uri.rsplit("/callouts/", 1)[0] + "/actors/network",
        "object": {
            "id": note_id,
            "type": "Note",
            "name": option,
            "attributedTo": account.id,
            "inReplyTo": callout_uri,
        },
    }
