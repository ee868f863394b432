"""The personal link of an alert: answering one callout as one subscription.

A link ``/callouts/N/respond?t=S.M`` carries the subscription's id ``S`` and
``M``, an HMAC-SHA256 of the callout id keyed with the subscription's own random
secret (its unsubscribe token, 256 bits, never shown in an answer link). So:

- it is personal twice over: changing ``S`` or ``N`` needs that secret;
- nothing new is stored: the link is recomputed when an alert is sent;
- it stops working the moment the subscription is gone (unsubscribed, or
  dropped by its push service): the key is deleted with it, and ids are never
  reused (``NEVER_REUSE_IDS``), so no later subscription inherits a link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from node.alerts.models import AlertSubscription

MAX_TOKEN = 100
ALERT_ACTOR = "urn:tocsin:alert-subscription:"
"""The ``actor_uri`` prefix of an alert subscriber's response (never fetched)."""


def alert_actor(subscription_id: int) -> str:
    return f"{ALERT_ACTOR}{subscription_id}"


def is_alert_actor(actor_uri: str) -> bool:
    return actor_uri.startswith(ALERT_ACTOR)


def _mac(secret: str, callout_id: int) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"respond:{callout_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def respond_token(subscription: AlertSubscription, callout_id: int) -> str:
    return f"{subscription.id}.{_mac(subscription.token, callout_id)}"


def respond_url(base: str, subscription: AlertSubscription, callout_id: int) -> str:
    return f"{base}/callouts/{callout_id}/respond?t={respond_token(subscription, callout_id)}"


def token_subscription_id(token: str) -> int | None:
    """The subscription id a token names, or None when it is not even shaped like one."""
    if not token or len(token) > MAX_TOKEN:
        return None
    head, dot, mac = token.partition(".")
    if not dot or not mac or not head.isascii() or not head.isdigit() or len(head) > 18:
        return None
    return int(head)


def token_matches(subscription: AlertSubscription, callout_id: int, token: str) -> bool:
    """True when ``token`` is this subscription's link for this callout (constant time)."""
    expected = respond_token(subscription, callout_id)
    return hmac.compare_digest(expected.encode("ascii"), token.encode("utf-8", "replace"))
