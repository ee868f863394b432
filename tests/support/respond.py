"""Helpers of the tests of answering a callout from an alert's personal link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from node.alerts.models import AlertJob
from node.alerts.words import PERSONAL_CHANGES
from node.content import callouts as co
from node.content.models import Callout, CalloutResponse
from tests.support.nodes import Node

SECRET = "12 High Road, back door"
SOON = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")


async def private_callout(node: Node, *, people: str = "2", title: str = "Eviction watch") -> int:
    """An open callout whose address only the confirmed are told."""
    form = co.CalloutForm(
        title=title,
        needed="People at the door",
        people=people,
        until=f"{SOON} 09:00",
        urgency="urgent",
        contact="Signal: 07000 000000",
        area="Tottenham, N15",
        private_address=SECRET,
        timezone="Europe/London",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form)
    node.ctx.wake()
    return callout.id


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def path_of(link: str) -> str:
    return urlsplit(link).path


async def answer(
    node: Node, link: str, option: str, *, name: str = "", reach: str = ""
) -> httpx.Response:
    """Open the personal link and press the button, as a person without JavaScript."""
    opened = await node.client.get(link)
    assert opened.status_code == 200, opened.text
    assert 'name="t" value="' + token_of(link) + '"' in opened.text
    form = {"t": token_of(link), "option": option, "name": name, "reach": reach}
    return await node.client.post(path_of(link), data=form)


async def responses(node: Node, callout_id: int) -> list[tuple[str, str, str | None]]:
    """(actor_uri, option, role) of every response, in answer order."""
    async with node.ctx.sessions() as session:
        rows = await session.scalars(
            select(CalloutResponse)
            .where(CalloutResponse.callout_id == callout_id)
            .order_by(CalloutResponse.id)
        )
        return [(r.actor_uri, r.option, r.role) for r in rows]


async def personal_jobs(node: Node, callout_id: int) -> int:
    async with node.ctx.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(AlertJob)
            .where(
                AlertJob.subject_id == callout_id,
                AlertJob.change.in_(PERSONAL_CHANGES),
            )
        )
        return int(found or 0)


async def tally(node: Node, callout_id: int) -> tuple[int, int]:
    """Run the tally job as the worker does; the callout's published (come, help)."""
    await co.publish_due_tallies(node.ctx, datetime.now(UTC) + timedelta(minutes=1))
    async with node.ctx.sessions() as session:
        callout = await session.get(Callout, callout_id)
        assert callout is not None
        return callout.come_count, callout.help_count
