"""Who receives an activity: one POST per distinct inbox, shared inboxes coalesced.

A server with a shared inbox gets one delivery however many of its accounts
follow us (Fedify's ``extractInboxes``); others get one per personal inbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Recipient(Protocol):
    @property
    def inbox(self) -> str: ...

    @property
    def shared_inbox(self) -> str | None: ...


def delivery_inboxes(recipients: Iterable[Recipient], *, shared: bool = True) -> list[str]:
    """Distinct target inboxes in first-seen order.

    ``shared=False`` addresses personal inboxes only: for activities meant for
    one actor (Follow, Accept), which Mastodon expects at the personal inbox.
    """
    seen: dict[str, None] = {}
    for recipient in recipients:
        inbox = (recipient.shared_inbox if shared else None) or recipient.inbox
        seen.setdefault(inbox, None)
    return list(seen)
