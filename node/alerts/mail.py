"""Alert and confirmation e-mails, sent with aiosmtplib.

``TOCSIN_SMTP_URL`` names the server: ``smtps://`` is TLS from the start;
``smtp://`` upgrades with STARTTLS whenever the server offers it. A pass of
the sender reuses a few connections (``MailPool``) rather than opening one per
message. Every alert carries its unsubscribe link in the text and in the
``List-Unsubscribe`` header, with RFC 8058 one-click unsubscribing.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from node.config import SmtpSettings

POOL_SIZE = 16
TIMEOUT = 30.0


class MailError(Exception):
    """Sending failed; ``permanent`` when the server refused for good (5xx)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def permanent(self) -> bool:
        return self.code is not None and 500 <= self.code < 600


def message(
    sender: str, to: str, subject: str, text: str, *, unsubscribe_url: str | None = None
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url is not None:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    return mail


def _client(settings: SmtpSettings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        username=settings.username or None,
        password=settings.password or None,
        use_tls=settings.implicit_tls,
        start_tls=None if not settings.implicit_tls else False,  # None: when offered
        timeout=TIMEOUT,
    )


class MailPool:
    """Up to ``size`` open SMTP connections, shared by concurrent senders."""

    def __init__(self, settings: SmtpSettings, size: int = POOL_SIZE) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def send(self, mail: EmailMessage) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                if client is None or not client.is_connected:
                    client = _client(self._settings)
                    await client.connect()
                await client.send_message(mail)
            except aiosmtplib.SMTPResponseException as exc:
                await _close(client)
                raise MailError(f"{exc.code} {exc.message}", code=exc.code) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await _close(client)
                codes = [refusal.code for refusal in exc.recipients]
                raise MailError(str(exc), code=max(codes, default=None)) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await _close(client)
                raise MailError(f"{type(exc).__name__}: {exc}") from exc
            self._idle.append(client)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            await _close(client)


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


async def send_one(settings: SmtpSettings, mail: EmailMessage) -> None:
    """One message on its own connection (a confirmation link, sent while the
    person waits for the page)."""
    pool = MailPool(settings, size=1)
    try:
        await pool.send(mail)
    finally:
        await pool.aclose()
