"""Sending one alert by its subscription's channel: what the sender's pass uses.

A ``Courier`` holds what a pass shares: the VAPID signer, the guarded HTTP
client of deliveries, and a pool of SMTP connections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from federation.errors import UnsafeTargetError
from node.alerts.mail import MailError, MailPool, alert_message
from node.alerts.models import AlertSubscription
from node.alerts.push import PushTarget, VapidSigner, send_push, ttl_until
from node.alerts.render import AlertText
from node.alerts.tokens import respond_url
from node.alerts.vapid import ensure_vapid_key
from node.context import NodeContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None = None
    retry_after: str | None = None
    final: bool = False  # asking again gets the same answer
    gone: bool = False  # the push service dropped the subscription: forget it

    @classmethod
    def dropped(cls) -> Attempt:
        return cls(ok=False, final=True)


def unsubscribe_url(base: str, subscription: AlertSubscription) -> str:
    return f"{base}/alerts/unsubscribe?t={subscription.token}"


@dataclass
class Courier:
    node: NodeContext
    signer: VapidSigner
    mail: MailPool | None

    @classmethod
    async def open(cls, node: NodeContext) -> Courier:
        async with node.sessions() as session:
            key = await ensure_vapid_key(session)
        settings = node.settings
        contact = settings.mail_from or f"{settings.node_name}@{settings.host.split(':')[0]}"
        signer = VapidSigner(key, f"mailto:{contact}")
        pool = MailPool(settings.smtp) if settings.smtp else None
        return cls(node, signer, pool)

    async def aclose(self) -> None:
        if self.mail is not None:
            await self.mail.aclose()

    async def send(
        self, subscription: AlertSubscription, alert: AlertText | None, now: datetime
    ) -> Attempt:
        if alert is None:
            return Attempt.dropped()
        base = self.node.urls.base
        link = unsubscribe_url(base, subscription)
        respond = respond_url(base, subscription, alert.answerable) if alert.answerable else None
        if subscription.channel == "push":
            return await self._push(subscription, alert, link, respond, now)
        return await self._mail(subscription, alert, link, respond)

    async def _push(
        self,
        sub: AlertSubscription,
        alert: AlertText,
        link: str,
        respond: str | None,
        now: datetime,
    ) -> Attempt:
        target = PushTarget(sub.endpoint or "", sub.p256dh or "", sub.auth or "")
        try:
            answer = await send_push(
                self.node.delivery_http,
                self.signer,
                target,
                alert.push_payload(link, respond),
                urgent=alert.urgent,
                ttl=ttl_until(alert.ends_at, now),
            )
        except UnsafeTargetError as exc:
            log.info("push subscription %s refused: %s", sub.id, exc)
            return Attempt(ok=False, final=True, gone=True)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("push to subscription %s failed: %s", sub.id, type(exc).__name__)
            return Attempt(ok=False)
        if 200 <= answer.status < 300:
            return Attempt(ok=True, status=answer.status)
        gone = answer.status in (404, 410)
        return Attempt(
            ok=False, status=answer.status, retry_after=answer.retry_after, gone=gone, final=gone
        )

    async def _mail(
        self, sub: AlertSubscription, alert: AlertText, link: str, respond: str | None
    ) -> Attempt:
        if self.mail is None or not sub.email:
            return Attempt.dropped()  # SMTP was switched off; the job cannot be sent
        settings = self.node.settings
        mail = alert_message(
            settings.mail_from,
            sub.email,
            alert.title,
            alert.mail_body(link, respond),
            unsubscribe_url=link,
        )
        try:
            await self.mail.send(mail)
        except MailError as exc:
            log.info("e-mail to subscription %s failed: %s", sub.id, exc)
            return Attempt(ok=False, status=exc.code, final=exc.permanent)
        return Attempt(ok=True, status=250)
