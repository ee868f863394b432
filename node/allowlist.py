"""Allow-list-only mode: when it is on, only listed servers may federate.

The switch (the node setting ``allowlist_mode``) and the list (``domain_allows``)
are set by admins. With the mode on, a server that is not listed is treated as
if it were blocked: its inbox POSTs get 403 before any key is fetched from it
(``node/web/inbox.py``), nothing is fetched from it (``node/remote.py``) and no
delivery is queued to it (``node/outbox.py``). This node's own host is always
allowed, and a block still wins over a listing.

A listed domain matches that host exactly, on any port unless the entry names
one: unlike a block it does not cover subdomains (as in Mastodon's
limited-federation mode, a list should let in no more than it names).

The list is read on every inbox POST, so each process caches it and reloads
it every few seconds, like the block list; :meth:`AllowList.invalidate` makes
this process see a change at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.hosts import normalize_domain, split_port
from node.i18n import gettext as _
from node.models import Delivery, DomainAllow
from node.settings_store import get_setting

RELOAD_SECONDS = 5.0
_DOMAIN_CHARS = re.compile(r"[a-z0-9._\-\[\]:]+")
MODE_SETTING = "allowlist_mode"


def listed(entries: Iterable[str], domain: str) -> bool:
    """Whether a normalised ``host[:port]`` matches one of the stored entries."""
    host, port = split_port(domain)
    for entry in entries:
        entry_host, entry_port = split_port(entry)
        if entry_host == host and entry_port in (None, port):
            return True
    return False


@dataclass(frozen=True)
class AllowPolicy:
    """The mode and the list as read at one moment."""

    enabled: bool
    domains: frozenset[str]

    def permits(self, domain: str, own_host: str | None = None) -> bool:
        if not self.enabled:
            return True
        domain = normalize_domain(domain)
        if own_host and domain == normalize_domain(own_host):
            return True
        return listed(self.domains, domain)


async def load_policy(session: AsyncSession) -> AllowPolicy:
    """The current policy, read in the caller's session (and transaction)."""
    enabled = bool(await get_setting(session, MODE_SETTING, False))
    if not enabled:
        return AllowPolicy(False, frozenset())
    rows = await session.scalars(select(DomainAllow.domain))
    return AllowPolicy(True, frozenset(rows.all()))


class AllowList:
    """A per-process cache of the policy, for the hot paths (inbox, fetches)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._policy = AllowPolicy(False, frozenset())
        self._loaded_at = float("-inf")

    async def policy(self) -> AllowPolicy:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            async with self._sessions() as session:
                self._policy = await load_policy(session)
            self._loaded_at = time.monotonic()
        return self._policy

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def permits(self, domain: str, own_host: str | None = None) -> bool:
        return (await self.policy()).permits(domain, own_host)


async def drop_refused_deliveries(session: AsyncSession, own_host: str) -> int:
    """Delete pending deliveries the current policy no longer allows (after the
    mode is turned on or a domain leaves the list); returns how many."""
    policy = await load_policy(session)
    if not policy.enabled:
        return 0
    pending = await session.scalars(
        select(Delivery.domain).where(Delivery.state == "pending").distinct()
    )
    refused = [domain for domain in pending.all() if not policy.permits(domain, own_host)]
    if not refused:
        return 0
    result = await session.execute(
        delete(Delivery).where(Delivery.state == "pending", Delivery.domain.in_(refused))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def validate_domain(value: str) -> str:
    """A domain typed by an admin, normalised; ValueError says what is wrong."""
    domain = normalize_domain(value)
    if not domain:
        raise ValueError(_("Enter a domain such as example.org."))
    if not _DOMAIN_CHARS.fullmatch(domain):
        raise ValueError(_("A domain has only letters, digits, dots, hyphens and a :port."))
    if "." not in domain and ":" not in domain and domain != "localhost":
        raise ValueError(
            _("%(domain)s does not look like a domain (such as example.org).", domain=domain)
        )
    if len(domain) > 255:
        raise ValueError(_("A domain is at most 255 characters long."))
    return domain
