"""Remote follow: send a visitor to their own server's page for following us.

The visitor types their handle (``@me@mastodon.example``). We ask their
server's WebFinger for the OStatus subscribe template
(``https://mastodon.example/authorize_interaction?uri={uri}``, as Mastodon,
Pleroma and Misskey publish it) and send them there with our actor's URL
filled in. The query goes through the node's guarded client (no private
addresses in production, one deadline, a size cap), never to a blocked server,
and only to the follow page of the visitor's own server (anything else would
make this node an open redirect).

Lookups are made for anyone who asks, so they are bounded (``LookupGate``):
a few per client in a window, and a few at once for the whole node, so a
flood of lookups cannot slow the node's federation down.

Every failure is a ``RemoteFollowError`` whose message is written for the
visitor. Nothing about the visitor is logged or stored.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from federation.errors import FederationError, FetchError, MalformedError
from federation.fetch import Fetcher
from federation.hosts import url_authority
from federation.webfinger import parse_handle, webfinger_url
from node.context import NodeContext
from node.i18n import gettext as _
from node.i18n import ngettext
from node.web.clients import SlidingWindow

SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
DEADLINE = 10.0  # seconds: a person is waiting
MAX_HANDLE = 300
MAX_URL = 2048
LOOKUPS_PER_CLIENT = 10
LOOKUP_WINDOW = 600.0  # seconds
LOOKUP_SLOTS = 4  # lookups running at once, node-wide
SLOT_WAIT = 5.0  # seconds a lookup waits for a slot before the visitor is told to retry


class RemoteFollowError(Exception):
    """The visitor's server could not be used; ``message`` says why, for the form."""

    def __init__(
        self, message: str, *, status_code: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


@dataclass
class LookupGate:
    """How many lookups one client may make, and how many run at once."""

    per_client: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(LOOKUPS_PER_CLIENT, LOOKUP_WINDOW)
    )
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(LOOKUP_SLOTS))

    @asynccontextmanager
    async def admit(self, client: str) -> AsyncIterator[None]:
        wait = self.per_client.retry_after(client)
        if wait:
            minutes = math.ceil(wait / 60)
            raise RemoteFollowError(
                ngettext(
                    "You have looked up many addresses in a short time. "
                    "Try again in %(num)d minute.",
                    "You have looked up many addresses in a short time. "
                    "Try again in %(num)d minutes.",
                    minutes,
                ),
                status_code=429,
                retry_after=math.ceil(wait),
            )
        self.per_client.record(client)
        try:
            async with asyncio.timeout(SLOT_WAIT):
                await self.slots.acquire()
        except TimeoutError:
            raise RemoteFollowError(
                _("Many people are following this network right now. Try again in a minute."),
                status_code=503,
                retry_after=60,
            ) from None
        try:
            yield
        finally:
            self.slots.release()


def subscribe_template(jrd: dict[str, Any]) -> str | None:
    """The first subscribe link's ``template`` in a WebFinger answer, or None."""
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == SUBSCRIBE_REL:
            template = link.get("template")
            if isinstance(template, str) and "{uri}" in template:
                return template
    return None


def fill_template(template: str, actor_url: str, *, schemes: tuple[str, ...]) -> str | None:
    """The template with ``{uri}`` filled in, or None when the result is no web address."""
    url = template.replace("{uri}", quote(actor_url, safe=""))
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in schemes and parts.hostname else None


async def remote_follow_url(
    context: NodeContext, handle: str, actor_url: str, *, gate: LookupGate, client: str
) -> str:
    """Where to send someone whose handle is ``handle`` so they can follow ``actor_url``.

    ``client`` is the visitor's key for ``gate`` (see ``node.web.clients``).
    """
    handle = handle.strip()
    if not handle:
        raise RemoteFollowError(_("Type your fediverse address, like @you@mastodon.example."))
    try:
        if len(handle) > MAX_HANDLE:
            raise MalformedError("handle too long")
        name, host = parse_handle(handle)
    except MalformedError:
        raise RemoteFollowError(
            _("That is not a fediverse address. It looks like @you@mastodon.example.")
        ) from None
    if await context.blocks.refuses(host):
        raise RemoteFollowError(
            _("This network does not connect with %(server)s.", server=host), status_code=403
        )
    https = context.settings.https
    query = webfinger_url(name, host, scheme="https" if https else "http")
    try:
        async with gate.admit(client):
            jrd = await Fetcher(context.fetch_http, deadline=DEADLINE).fetch_jrd(query)
    except FetchError:
        raise RemoteFollowError(
            _(
                "We could not find %(name)s at %(server)s. Check the address and try again.",
                name=name,
                server=host,
            ),
            status_code=502,
        ) from None
    except FederationError:
        raise RemoteFollowError(
            _("%(server)s did not answer like a fediverse server.", server=host), status_code=502
        ) from None
    template = subscribe_template(jrd)
    schemes = ("https",) if https else ("https", "http")
    url = fill_template(template, actor_url, schemes=schemes) if template else None
    if url is None:
        raise RemoteFollowError(
            _(
                "%(server)s has no follow page we can send you to. "
                "Search for this network's address in your app instead.",
                server=host,
            ),
            status_code=502,
        )
    if url_authority(url) != url_authority(f"https://{host}/"):
        raise RemoteFollowError(
            _(
                "%(server)s wants to send you to another server's page, "
                "so we did not. Search for this network's address in your app instead.",
                server=host,
            ),
            status_code=502,
        )
    return url
