"""A callout run as a dispatch on a real node: published with a private address,
moved through its states, answered by fediverse accounts, and who is who."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from node.content import callouts as co
from node.content.callout_states import apply_action
from node.content.lookup import find_local
from node.content.models import Callout
from node.content.responders import responder_report
from tests.support.fediverse import Account, Received
from tests.support.nodes import Node, eventually
from tests.support.published import vote

SECRET = "12 High Road"
SOON = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")


async def publish_private_callout(node: Node, *, unverified: bool) -> Callout:
    form = co.CalloutForm(
        title="Eviction watch",
        needed="People at the door",
        people="2",
        until=f"{SOON} 09:00",
        urgency="urgent",
        contact="Signal: 07000 000000",
        area="Tottenham, N15",
        private_address=SECRET,
        timezone="Europe/London",
    )
    async with node.ctx.sessions() as session, session.begin():
        callout = await co.create_callout(node.ctx, session, form, unverified=unverified)
    node.ctx.wake()
    return callout


async def act(node: Node, callout: Callout, action: str) -> str:
    """An organiser's action on the callout (confirm, close…); its new status."""
    async with node.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        await apply_action(node.ctx, session, mine, action, now=datetime.now(UTC))
        status = mine.status
    node.ctx.wake()
    return status


async def roles(node: Node, callout: Callout) -> dict[str, str]:
    """Each responder's role, by actor id, as the organisers' report shows it."""
    async with node.ctx.sessions() as session:
        mine = await find_local(session, Callout, callout.uri)
        report = await responder_report(session, mine)
    return {r.actor_uri: r.label for r in report.responders}


async def answer(node: Node, account: Account, callout: Callout, option: str) -> None:
    """``account`` votes, and the node has counted it."""
    response = await account.post(f"{node.actor_id}/inbox", vote(account, callout.uri, option))
    assert response.status_code == 202

    async def counted() -> bool:
        return account.id in await roles(node, callout)

    await eventually(counted)


def direct_to(account: Account, words: str) -> Any:
    """Matches the Create{Note} sent to ``account``'s own inbox that says ``words``."""

    def match(received: Received) -> bool:
        activity = received.activity
        note = activity.get("object")
        return (
            received.path == f"/users/{account.name}/inbox"
            and activity["type"] == "Create"
            and isinstance(note, dict)
            and note.get("type") == "Note"
            and words in note.get("content", "")
        )

    return match
