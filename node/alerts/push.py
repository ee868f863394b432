"""One Web Push message (RFC 8030), encrypted (RFC 8291, ``aes128gcm``) and
signed (RFC 8292 VAPID), sent through the node's guarded delivery client.

The encryption is pywebpush's (``WebPusher.encode``, on top of ``http_ece``)
and the VAPID token py-vapid's; only the POST is ours, so that it goes through
the same address checks, deadline and connection limits as every delivery
(pywebpush would send with its own client, to any address).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from py_vapid import Vapid02
from pywebpush import WebPusher

from federation.delivery_client import DeliveryClient, PostAnswer

VAPID_LIFETIME = 12 * 3600  # seconds a token is valid (RFC 8292 allows up to 24 h)
MAX_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class PushTarget:
    endpoint: str
    p256dh: str
    auth: str


@dataclass
class VapidSigner:
    """VAPID ``Authorization`` headers, one per push service, reused while fresh
    (signing each of a thousand messages to one service would be waste)."""

    key: Vapid02
    subject: str  # "mailto:…": who to contact about this sender
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def header(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[1] - now > VAPID_LIFETIME / 2:
            return cached[0]
        expires = int(now) + VAPID_LIFETIME
        claims = {"aud": audience, "sub": self.subject, "exp": expires}
        value: str = self.key.sign(claims)["Authorization"]
        self._tokens[audience] = (value, expires)
        return value


def ttl_until(ends_at: datetime, now: datetime) -> int:
    """Seconds a push service should keep the message: until the callout ends."""
    return max(0, min(int((ends_at - now).total_seconds()), MAX_TTL))


async def send_push(
    client: DeliveryClient,
    signer: VapidSigner,
    target: PushTarget,
    payload: bytes,
    *,
    urgent: bool,
    ttl: int,
) -> PostAnswer:
    """Encrypt ``payload`` for ``target`` and POST it; the push service's answer.

    Raises what ``DeliveryClient.post`` raises for network failures and refused
    targets."""
    info = {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}}
    body = WebPusher(info).encode(payload, "aes128gcm")["body"]
    headers = {
        "Authorization": signer.header(target.endpoint),
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(ttl),
        "Urgency": "high" if urgent else "normal",
    }
    return await client.post(target.endpoint, body, headers)
