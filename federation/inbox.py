"""Inbox verification and dispatch: the wire half of receiving an activity.

``verify_inbox_post`` turns a raw POST into a ``VerifiedActivity`` or raises a
``FederationError`` whose status and public message go straight back to the
sender. What an activity *means* is the application's business: it registers
handlers on an ``ActivityRouter`` (``@router.on("Follow")``).

Before that, the route asks ``check_inbox_content_type`` and reads the body
with ``read_inbox_body``, which stops at ``MAX_INBOX_BODY`` (1 MiB, beyond
which Mastodon answers 413 too: docs/interop.md#retries) without reading on.

The order matters: a cheap refusal of unsigned or malformed requests first
(the signature's header, date and digest before the JSON is even parsed; a key
on another host than the activity's actor before any key is fetched), then the
signature (which may fetch the signer's key), then the binding of the signer to
the activity's ``actor`` and the origin rules, all before any side effect
(Fedify's CVE-2025-54888 routed before binding).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from federation.as2 import Activity, check_activity_origin, parse_activity
from federation.errors import (
    ForbiddenError,
    SignatureError,
    TooLargeError,
    UnsupportedMediaTypeError,
)
from federation.hosts import same_origin, url_authority
from federation.httpsig import claim_of, verify_claim
from federation.jsonlimits import loads_limited
from federation.signed import KeyLookup, SignedRequest, VerifiedSignature

MAX_INBOX_BODY = 1_048_576
INBOX_CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")

C = TypeVar("C")
Handler = Callable[[Activity, C], Awaitable[None]]


@dataclass(frozen=True)
class VerifiedActivity:
    activity: Activity
    signer: VerifiedSignature


def check_inbox_content_type(content_type: str) -> None:
    """Refuse (415) a POST whose ``Content-Type`` is not one an activity comes in.

    Parameters such as ``profile`` or ``charset`` are ignored, case too.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in INBOX_CONTENT_TYPES:
        raise UnsupportedMediaTypeError(
            f"content type {media_type!r}",
            public_message="send activities as application/activity+json",
        )


async def read_inbox_body(declared_length: str | None, chunks: AsyncIterable[bytes]) -> bytes:
    """Read an inbox POST's body, refusing (413) one over ``MAX_INBOX_BODY``.

    A declared ``Content-Length`` over the cap is refused before anything is
    read; a chunked or understated body is refused as soon as it passes the cap.
    """
    declared = declared_length or ""
    if declared.isdigit() and int(declared) > MAX_INBOX_BODY:
        raise _too_large()
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > MAX_INBOX_BODY:
            raise _too_large()
        parts.append(chunk)
    return b"".join(parts)


def _too_large() -> TooLargeError:
    return TooLargeError(
        f"body over {MAX_INBOX_BODY} bytes",
        public_message=f"activities larger than {MAX_INBOX_BODY} bytes are refused",
    )


async def verify_inbox_post(
    req: SignedRequest,
    *,
    key_lookup: KeyLookup,
    now: datetime,
    is_blocked: Callable[[str], Awaitable[bool]] | None = None,
) -> VerifiedActivity:
    """Check everything about an inbox POST that does not depend on the application.

    Cheapest first, so a forged POST costs next to nothing: the signature's
    header, date and digest (no JSON parsed yet), then the activity, then
    ``is_blocked(host)`` (403) and "the key is on the actor's host" before any
    key is fetched, then the key and the signature itself.
    """
    if "signature" not in req.fields and "signature-input" not in req.fields:
        raise SignatureError("request is not signed")
    claim = claim_of(req, now=now, max_body=MAX_INBOX_BODY)
    activity = parse_activity(loads_limited(req.body))
    if not same_origin(claim.key_id, activity.actor):
        raise SignatureError(
            f"key {claim.key_id} is not on the host of the actor {activity.actor}",
            public_message="the activity's actor is not the owner of the signing key",
        )
    if is_blocked is not None and await is_blocked(url_authority(activity.actor)):
        raise ForbiddenError(f"{activity.actor} is on a blocked server", public_message="blocked")
    signer = await verify_claim(claim, key_lookup)
    if signer.owner != activity.actor:
        raise SignatureError(
            f"activity actor {activity.actor} is not the signer {signer.owner}",
            public_message="the activity's actor is not the owner of the signing key",
        )
    check_activity_origin(activity)
    return VerifiedActivity(activity=activity, signer=signer)


class ActivityRouter(Generic[C]):
    """Maps activity types to handlers; unknown types are ignored by the caller."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler[C]] = {}

    def on(self, activity_type: str) -> Callable[[Handler[C]], Handler[C]]:
        def register(handler: Handler[C]) -> Handler[C]:
            if activity_type in self._handlers:
                raise ValueError(f"a handler for {activity_type} is already registered")
            self._handlers[activity_type] = handler
            return handler

        return register

    async def dispatch(self, activity: Activity, context: C) -> bool:
        """Run the handler for ``activity``; False when there is none."""
        handler = self._handlers.get(activity.type)
        if handler is None:
            return False
        await handler(activity, context)
        return True
