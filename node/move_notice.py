"""The notice a node sends when its old domain is already gone (docs/moving.md).

A ``Move`` from the old actor to this node's actor, exactly as the old node
would have sent it, but signed with the old actor's key taken from an export
made with ``--with-keys`` (``keyId`` = the old key id) and POSTed from this
server to each inbox of the former followers the export lists. A receiver
verifies the signature against the old key it already holds (fetching it would
fail: the domain is gone) and then treats it as any ``Move``: it fetches the new
actor and acts only if that actor lists the old one in ``alsoKnownAs``.

These POSTs are sent here and now, not through the delivery queue, which signs
only with this node's own keys; what failed is reported for a second run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from federation.cavage import HttpSignatureAuth
from federation.hosts import url_authority
from federation.keys import load_private_key
from node.ap.activities import move_to_as
from node.ap.context import document
from node.context import NodeContext
from node.export import check_export
from node.identity import group_actor
from node.moves import MoveError, aliases
from node.outbox import serialize

AS2 = "application/activity+json"


@dataclass(frozen=True)
class NoticeResult:
    inbox: str
    outcome: str  # "delivered (202)", "refused (401)", "failed: …", "skipped: blocked"

    @property
    def delivered(self) -> bool:
        return self.outcome.startswith("delivered")


def _inboxes(doc: dict[str, Any]) -> list[str]:
    """One inbox per follower server: its shared inbox when it has one."""
    inboxes: dict[str, None] = {}
    for follower in doc["followers"]:
        if follower.get("state", "accepted") == "accepted":
            inboxes[follower.get("shared_inbox") or follower["inbox"]] = None
    return list(inboxes)


async def notice_activity(node: NodeContext, doc: dict[str, Any]) -> dict[str, Any]:
    """The ``Move`` from the exported actor to ours, checked: the file must hold
    the old key, and our actor must already list the old one as an alias."""
    old = doc["actor"]
    if not old.get("private_key_pem"):
        raise MoveError("the export holds no keys; it must be made with --with-keys")
    async with node.sessions() as session:
        local = await group_actor(session)
        known = await aliases(session)
    if old["id"] not in known:
        raise MoveError(f"run `tocsin alias add {old['id']}` first: receivers check it")
    activity = move_to_as(
        activity_id=f"{old['id']}#moves/{uuid.uuid4().hex}",
        actor=old["id"],
        target=node.urls.actor(local.username),
        followers=f"{old['id']}/followers",
    )
    return document(activity)


async def send_move_notices(node: NodeContext, export: Any) -> list[NoticeResult]:
    """POST the signed notice to every former follower's inbox; one result each."""
    doc = check_export(export)
    body = serialize(await notice_activity(node, doc)).encode()
    auth = HttpSignatureAuth(
        doc["actor"]["key_id"], load_private_key(doc["actor"]["private_key_pem"])
    )
    results = []
    for inbox in _inboxes(doc):
        if await node.blocks.refuses(url_authority(inbox)):
            results.append(NoticeResult(inbox, "skipped: blocked"))
            continue
        try:
            response = await node.http.post(
                inbox, content=body, headers={"Content-Type": AS2}, auth=auth
            )
        except httpx.HTTPError as exc:
            results.append(NoticeResult(inbox, f"failed: {type(exc).__name__}"))
            continue
        ok = 200 <= response.status_code < 300
        word = "delivered" if ok else "refused"
        results.append(NoticeResult(inbox, f"{word} ({response.status_code})"))
    return results
