"""WebFinger (RFC 7033): turning ``@name@host`` into an actor URL.

Client side: parse a handle someone typed, ask the host's
``/.well-known/webfinger`` through the safe :class:`~federation.fetch.Fetcher`
(same redirect, deadline, size and address rules as any fetch, so a redirect
loop stops after 3 hops: CVE-2025-23221), and pick the ``self`` link with an
ActivityStreams type, as Mastodon does (docs/interop.md#discovery).

The returned URL is only a pointer: whoever uses it must still fetch the actor
and rely on that fetch's own ``id`` check.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import quote, urlsplit

from federation.errors import MalformedError
from federation.fetch import Fetcher, is_activitystreams_type
from federation.hosts import normalize_host

# ==========================================================================
# Client: parse a handle, resolve it to an actor URL
# ==========================================================================

_NAME = re.compile(r"[A-Za-z0-9._~-]{1,255}")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\[\]:/?#@\\\s]+)(?::(?P<port>[0-9]{1,5}))?")


def parse_handle(handle: str) -> tuple[str, str]:
    """Split ``@name@host``, ``name@host`` or ``acct:name@host`` into (name, host).

    The host comes back normalised (lower case, IDNA) and keeps an explicit
    port, e.g. ``("news", "127.0.0.1:8001")``. Junk raises ``MalformedError``.
    """
    text = handle.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    elif text.startswith("@"):
        text = text[1:]
    name, sep, host = text.partition("@")
    if not sep or not _NAME.fullmatch(name):
        raise _bad_handle(handle)
    return name, _parse_host(host, handle)


def _parse_host(text: str, handle: str) -> str:
    match = _HOST_PORT.fullmatch(text)
    if match is None:
        raise _bad_handle(handle)
    raw_host, raw_port = match.group("host", "port")
    if raw_host.startswith("["):
        try:
            host = f"[{ipaddress.IPv6Address(raw_host[1:-1]).compressed}]"
        except ValueError:
            raise _bad_handle(handle) from None
    else:
        host = normalize_host(raw_host)
        if not all(_DNS_LABEL.fullmatch(label) for label in host.split(".")):
            raise _bad_handle(handle)
    if raw_port is None:
        return host
    if not 0 < int(raw_port) < 65536:
        raise _bad_handle(handle)
    return f"{host}:{int(raw_port)}"


def _bad_handle(handle: str) -> MalformedError:
    return MalformedError(
        f"not a handle: {handle!r}", public_message="expected a handle like @name@example.org"
    )


def webfinger_url(name: str, host: str, *, scheme: str = "https") -> str:
    """The WebFinger query URL for ``acct:name@host``."""
    if scheme not in ("https", "http"):
        raise ValueError(f"scheme must be https or http, not {scheme!r}")
    resource = quote(f"acct:{name}@{host}", safe=":@[]")
    return f"{scheme}://{host}/.well-known/webfinger?resource={resource}"


async def resolve_handle(fetcher: Fetcher, handle: str, *, scheme: str = "https") -> str:
    """The actor URL (the ActivityStreams ``self`` link) that ``handle`` names.

    ``scheme="http"`` is for tests and development on loopback; with https the
    actor URL must be https too.
    """
    name, host = parse_handle(handle)
    jrd = await fetcher.fetch_jrd(webfinger_url(name, host, scheme=scheme))
    subject = jrd.get("subject")
    if not isinstance(subject, str) or not subject:
        raise MalformedError(
            f"WebFinger answer for {handle!r} has no subject",
            public_message="WebFinger answer has no subject",
        )
    allowed = ("https",) if scheme == "https" else ("http", "https")
    return _self_href(jrd, handle, allowed_schemes=allowed)


def _self_href(jrd: dict[str, Any], handle: str, *, allowed_schemes: tuple[str, ...]) -> str:
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        href, media_type = link.get("href"), link.get("type")
        if not isinstance(media_type, str) or not is_activitystreams_type(media_type):
            continue
        if isinstance(href, str) and _is_absolute(href, allowed_schemes):
            return href
    raise MalformedError(
        f"WebFinger answer for {handle!r} has no usable ActivityPub self link",
        public_message="WebFinger answer has no ActivityPub self link",
    )


def _is_absolute(url: str, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    return parts.scheme in schemes and bool(parts.hostname)
