"""The public ``/alerts`` pages: subscribe to callouts by Web Push or e-mail,
confirm an address, unsubscribe; and the service worker and web app manifest
that let the site sit on a phone's home screen.

E-mail works without JavaScript (a plain form); push needs the page's script
(``static/alerts.js``), which registers ``/sw.js`` and posts the browser's
``PushSubscription`` to ``/alerts/push``. Following a link never changes
anything by itself (mail scanners open links): confirming and unsubscribing
are a button on the page the link opens, and RFC 8058's one-click POST.

Subscribing is limited per client (``client_key``, memory only) and per
e-mail address (``ADDRESS_LIMIT`` confirmation e-mails a day).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from node.alerts import mail
from node.alerts.deliver import unsubscribe_url
from node.alerts.subscriptions import (
    SubscriptionError,
    confirm_email,
    parse_email,
    parse_push,
    parse_scope,
    request_email,
    subscribe_push,
    unsubscribe,
)
from node.alerts.vapid import application_server_key, ensure_vapid_key
from node.context import NodeContext
from node.i18n import gettext as _
from node.i18n import ngettext
from node.web.clients import SlidingWindow, client_key
from node.web.context import ctx
from node.web.site import Site, page, site_of
from node.web.templating import STATIC_DIR, static_url

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class AlertLimits:
    """Subscribing: per client, 10 an hour; per address, 3 confirmation e-mails a day."""

    clients: SlidingWindow = field(default_factory=lambda: SlidingWindow(10, 3600.0))
    addresses: SlidingWindow = field(default_factory=lambda: SlidingWindow(3, 86400.0))


def _limits(request: Request) -> AlertLimits:
    limits = getattr(request.app.state, "alert_limits", None)
    if limits is None:
        limits = request.app.state.alert_limits = AlertLimits()
    return limits


def _throttle(window: SlidingWindow, key: str) -> None:
    wait = window.retry_after(key)
    if wait:
        minutes = max(1, math.ceil(wait / 60))
        raise SubscriptionError(
            ngettext(
                "Too many requests. Try again in %(num)d minute.",
                "Too many requests. Try again in %(num)d minutes.",
                minutes,
            ),
            status_code=429,
        )
    window.record(key)


def _client(request: Request) -> str:
    return client_key(request.client.host if request.client else None)


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise SubscriptionError(_("That is too long."), status_code=413)
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    return {name: values[0] for name, values in fields.items()}


async def _page_values(context: NodeContext) -> dict[str, Any]:
    async with context.sessions() as session:
        site = await site_of(session, context)
        key = await ensure_vapid_key(session)
    return {
        "site": site,
        "nav": "/alerts",
        "email_enabled": context.settings.smtp is not None,
        "vapid_key": application_server_key(key),
    }


def _message(
    request: Request, site: Site, title: str, text: str, *, status: int = 200, **extra: Any
) -> Response:
    values = {"site": site, "nav": "/alerts", "title": title, "text": text, **extra}
    return page(request, "alerts_message.html", values, status_code=status, headers=NO_STORE)


async def alerts_page(request: Request) -> Response:
    values = await _page_values(ctx(request))
    return page(request, "alerts.html", {**values, "error": None, "address": ""})


async def push_subscribe(request: Request) -> Response:
    """JSON in (``subscription``, ``scope``, ``federated``), JSON out."""
    context = ctx(request)
    try:
        _throttle(_limits(request).clients, _client(request))
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise SubscriptionError(_("Send JSON: {subscription, scope, federated}.")) from exc
        if not isinstance(data, dict):
            raise SubscriptionError(_("Send JSON: {subscription, scope, federated}."))
        endpoint, p256dh, auth = parse_push(
            data.get("subscription"), allow_private=context.settings.allow_private_addresses
        )
        scope, federated = parse_scope(data.get("scope")), data.get("federated") is True
    except SubscriptionError as exc:
        return JSONResponse({"error": exc.message}, exc.status_code, headers=NO_STORE)
    async with context.sessions() as session, session.begin():
        row = await subscribe_push(session, endpoint, p256dh, auth, scope, federated)
        link = unsubscribe_url(context.urls.base, row)
    return JSONResponse({"subscribed": scope, "unsubscribe": link}, 201, headers=NO_STORE)


async def email_subscribe(request: Request) -> Response:
    context = ctx(request)
    values = await _page_values(context)
    address = ""
    try:
        if context.settings.smtp is None:
            raise SubscriptionError(_("This network does not send e-mail; use push."), 404)
        form = await _form(request)
        address = form.get("email", "").strip()[:300]
        email, scope = parse_email(form.get("email")), parse_scope(form.get("scope"))
        _throttle(_limits(request).clients, _client(request))
        digest = hashlib.sha256(email.lower().encode()).hexdigest()
        _throttle(_limits(request).addresses, digest)
    except SubscriptionError as exc:
        values.update(error=exc.message, address=address)
        return page(request, "alerts.html", values, status_code=exc.status_code, headers=NO_STORE)
    async with context.sessions() as session, session.begin():
        asked = await request_email(
            session, email, scope, form.get("federated") == "yes", datetime.now(UTC)
        )
        letter = _confirmation(
            context,
            values["site"],
            email,
            asked.confirm_token,
            unsubscribe_url(context.urls.base, asked.subscription),
        )
    assert context.settings.smtp is not None
    try:
        await mail.send_one(context.settings.smtp, letter)
    except mail.MailError as exc:
        log.warning("could not send a confirmation e-mail: %s", exc)
        return _message(
            request,
            values["site"],
            _("Not sent"),
            _("The e-mail could not be sent just now. Please try again later."),
            status=503,
        )
    return _message(
        request,
        values["site"],
        _("Check your inbox"),
        _(
            "We sent a message to %(email)s. Follow the link in it to start the "
            "alerts; nothing else is sent until you do. The link works for two days.",
            email=email,
        ),
    )


def _confirmation(
    context: NodeContext, site: Site, email: str, token: str | None, stop: str
) -> EmailMessage:
    """In the language of the page that asked for it (the person is reading it now)."""
    settings = context.settings
    if token is None:
        text = (
            _("You are already subscribed to alerts from %(network)s.", network=site.name)
            + "\n\n"
            + _("To change what you receive, unsubscribe and subscribe again: %(link)s", link=stop)
            + "\n"
        )
        subject = _("Alerts from %(network)s", network=site.name)
        return mail.message(settings.mail_from, email, subject, text, unsubscribe_url=stop)
    link = f"{context.urls.base}/alerts/confirm?t={token}"
    text = (
        _(
            "Someone (we hope you) asked for alerts from %(network)s at this address.",
            network=site.name,
        )
        + "\n\n"
        + _("To start them, open this link and press Confirm:")
        + f"\n{link}\n\n"
        + _("If it was not you, ignore this message: nothing more will be sent.")
        + "\n"
    )
    subject = _("Confirm alerts from %(network)s", network=site.name)
    return mail.message(settings.mail_from, email, subject, text)


async def confirm(request: Request) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
    if request.method == "GET":
        token = request.query_params.get("t", "")[:100]
        return _message(
            request,
            site,
            _("Confirm your alerts"),
            _("Press Confirm to start receiving alerts at this address."),
            action="/alerts/confirm",
            token=token,
            button=_("Confirm"),
        )
    try:
        token = (await _form(request)).get("t", "")
    except SubscriptionError as exc:
        return _message(request, site, _("Not confirmed"), exc.message, status=exc.status_code)
    async with context.sessions() as session, session.begin():
        row = await confirm_email(session, token, datetime.now(UTC))
    if row is None:
        return _message(
            request,
            site,
            _("Link expired"),
            _("This link was already used, or has expired. Subscribe again on the alerts page."),
            status=404,
        )
    return _message(
        request,
        site,
        _("Subscribed"),
        _("Your address is confirmed: alerts start with the next callout."),
    )


async def unsubscribe_route(request: Request) -> Response:
    """GET: a button. POST (the button, or a mail client's RFC 8058 one-click): done."""
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
    token = request.query_params.get("t", "")[:100]
    if request.method == "GET":
        return _message(
            request,
            site,
            _("Stop alerts"),
            _("Press Unsubscribe to stop these alerts."),
            action="/alerts/unsubscribe",
            token=token,
            button=_("Unsubscribe"),
        )
    try:
        token = (await _form(request)).get("t", token)
    except SubscriptionError as exc:
        return _message(request, site, _("Not unsubscribed"), exc.message, status=exc.status_code)
    async with context.sessions() as session, session.begin():
        removed = await unsubscribe(session, token)
    if not removed:
        return _message(
            request,
            site,
            _("Already unsubscribed"),
            _("No subscription has this link: nothing more will be sent."),
            status=404,
        )
    return _message(
        request,
        site,
        _("Unsubscribed"),
        _(
            "Done. You will get no more alerts; we kept nothing about you. An answer you "
            "gave to a callout still counts, without your name or how to reach you."
        ),
    )


async def service_worker(_: Request) -> Response:
    return FileResponse(
        STATIC_DIR / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


def _short_name(name: str) -> str:
    """A phone's home screen has room for a word: the name, or a handle's username."""
    return (name.lstrip("@").split("@")[0] if name.startswith("@") else name)[:12]


async def manifest(request: Request) -> Response:
    context = ctx(request)
    async with context.sessions() as session:
        site = await site_of(session, context)
    body = {
        "name": site.name,
        "short_name": _short_name(site.name),
        "description": _("Callouts and events of %(network)s", network=site.name),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#8b1a1a",
        "icons": [
            {"src": static_url("icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static_url("icon-192.png"), "sizes": "192x192", "type": "image/png"},
        ],
    }
    return JSONResponse(
        body, media_type="application/manifest+json", headers={"Cache-Control": "public, no-cache"}
    )


routes: list[BaseRoute] = [
    Route("/alerts", alerts_page),
    Route("/alerts/push", push_subscribe, methods=["POST"]),
    Route("/alerts/email", email_subscribe, methods=["POST"]),
    Route("/alerts/confirm", confirm, methods=["GET", "POST"]),
    Route("/alerts/unsubscribe", unsubscribe_route, methods=["GET", "POST"]),
    Route("/sw.js", service_worker),
    Route("/manifest.webmanifest", manifest),
]
