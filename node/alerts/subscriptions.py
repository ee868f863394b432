"""Subscribing, confirming and unsubscribing: what the ``/alerts`` routes do.

A push subscription counts at once (the browser asked the person for
permission). An e-mail address counts only once its confirmation link is
followed (double opt-in); the link holds a random token whose SHA-256 alone is
stored, it works once, and an address not confirmed within
``CONFIRM_WINDOW`` is forgotten. Every subscription has its own random
``token`` for the unsubscribe link in every message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.errors import UnsafeTargetError
from federation.netguard import check_scheme
from node.alerts.models import SCOPES, AlertJob, AlertSubscription
from node.content.models import CalloutResponse
from node.i18n import gettext as _

CONFIRM_WINDOW = timedelta(days=2)
KEEP_FINISHED = timedelta(days=30)  # sent alerts' rows, so a change never alerts twice
HOUSEKEEPING_EVERY = 600.0  # seconds
MAX_EMAIL = 254
MAX_ENDPOINT = 2048
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
_last_housekeeping = 0.0


class SubscriptionError(Exception):
    """A subscription request that cannot be taken, with a message a person can act on."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_scope(value: Any) -> str:
    scope = value.strip() if isinstance(value, str) else ""
    if scope not in SCOPES:
        raise SubscriptionError(
            _(
                "Choose what to be alerted about: urgent callouts, all callouts, "
                "or callouts and new events."
            )
        )
    return scope


def parse_email(value: Any) -> str:
    address = value.strip() if isinstance(value, str) else ""
    if len(address) > MAX_EMAIL or not _EMAIL.match(address):
        raise SubscriptionError(_("That does not look like an e-mail address (name@example.org)."))
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _key(value: Any, name: str, size: int) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise SubscriptionError(_("The push subscription's %(name)s key is missing.", name=name))
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SubscriptionError(
            _("The push subscription's %(name)s key is not base64url.", name=name)
        ) from exc
    if len(raw) != size or (name == "p256dh" and raw[0] != 4):
        raise SubscriptionError(
            _("The push subscription's %(name)s key has the wrong size.", name=name)
        )
    return value.rstrip("=")


def parse_push(data: Any, *, allow_private: bool) -> tuple[str, str, str]:
    """(endpoint, p256dh, auth) from a browser's ``PushSubscription.toJSON()``."""
    if not isinstance(data, dict):
        raise SubscriptionError(_("Send the browser's push subscription as a JSON object."))
    endpoint, keys = data.get("endpoint"), data.get("keys")
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT:
        raise SubscriptionError(_("The push subscription has no endpoint."))
    try:
        check_scheme(endpoint, allow_private=allow_private)
    except UnsafeTargetError as exc:
        raise SubscriptionError(_("The push endpoint must be an https:// address.")) from exc
    if not isinstance(keys, dict):
        raise SubscriptionError(_("The push subscription has no keys."))
    return endpoint, _key(keys.get("p256dh"), "p256dh", 65), _key(keys.get("auth"), "auth", 16)


async def subscribe_push(
    session: AsyncSession, endpoint: str, p256dh: str, auth: str, scope: str, federated: bool
) -> AlertSubscription:
    """Add (or update: same browser, new choice) a push subscription."""
    row = await session.scalar(
        select(AlertSubscription).where(AlertSubscription.endpoint == endpoint)
    )
    if row is None:
        row = AlertSubscription(channel="push", endpoint=endpoint, token=new_token())
        session.add(row)
    row.p256dh, row.auth, row.scope, row.federated, row.confirmed = (
        p256dh,
        auth,
        scope,
        federated,
        True,
    )
    await session.flush()
    return row


@dataclass(frozen=True)
class EmailRequest:
    subscription: AlertSubscription
    confirm_token: str | None  # None: the address was already confirmed


async def request_email(
    session: AsyncSession, address: str, scope: str, federated: bool, now: datetime
) -> EmailRequest:
    """A new (or renewed) unconfirmed subscription and the token of its link."""
    row = await session.scalar(select(AlertSubscription).where(AlertSubscription.email == address))
    if row is not None and row.confirmed:
        return EmailRequest(row, None)
    if row is None:
        row = AlertSubscription(channel="email", email=address, token=new_token(), confirmed=False)
        session.add(row)
    token = new_token()
    row.scope, row.federated, row.confirm_hash, row.created_at = (
        scope,
        federated,
        token_hash(token),
        now,
    )
    await session.flush()
    return EmailRequest(row, token)


async def confirm_email(
    session: AsyncSession, token: str, now: datetime
) -> AlertSubscription | None:
    """Confirm the address whose link holds ``token``; None if unknown, used or expired."""
    if not token or len(token) > 100:
        return None
    row = await session.scalar(
        select(AlertSubscription).where(AlertSubscription.confirm_hash == token_hash(token))
    )
    if row is None or row.created_at < now - CONFIRM_WINDOW:
        return None
    row.confirmed, row.confirm_hash = True, None
    return row


async def unsubscribe(session: AsyncSession, token: str) -> bool:
    """Forget the subscription of ``token`` and its queued alerts; False if unknown.

    Its answers to callouts stay counted, anonymous: the name and the way to be
    reached it gave are blanked, and the database cuts the link (SET NULL)."""
    if not token or len(token) > 100:
        return False
    mine = select(AlertSubscription.id).where(AlertSubscription.token == token)
    await session.execute(
        update(CalloutResponse)
        .where(CalloutResponse.subscription_id.in_(mine.scalar_subquery()))
        .values(name="", reach="")
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(
        delete(AlertSubscription).where(AlertSubscription.token == token)
    )
    return bool(getattr(result, "rowcount", 0))


async def forget_stale(sessions: async_sessionmaker[AsyncSession], now: datetime) -> None:
    """Every ``HOUSEKEEPING_EVERY`` seconds: forget addresses never confirmed, and
    the rows of alerts finished long ago."""
    global _last_housekeeping
    if time.monotonic() - _last_housekeeping < HOUSEKEEPING_EVERY:
        return
    _last_housekeeping = time.monotonic()
    async with sessions() as session, session.begin():
        await session.execute(
            delete(AlertSubscription).where(
                AlertSubscription.confirmed.is_(False),
                AlertSubscription.created_at < now - CONFIRM_WINDOW,
            )
        )
        await session.execute(
            delete(AlertJob).where(
                AlertJob.state != "pending", AlertJob.finished_at < now - KEEP_FINISHED
            )
        )
