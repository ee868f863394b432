"""Alert and confirmation e-mails, sent with aiosmtplib.

``TOCSIN_SMTP_URL`` names the server: ``smtps://`` is TLS from the start;
``smtp://`` upgrades with STARTTLS whenever the server offers it. A pass of
the sender reuses a few connections (``MailPool``) rather than opening one per
message. Every alert carries its unsubscribe link in the text and in the
``List-Unsubscribe`` header, with RFC 8058 one-click unsubscribing.
"""

from __future__ import annotations

import asyncio
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage, Message
from email.policy import compat32
from email.utils import formatdate, make_msgid, parseaddr
from io import BytesIO

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


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = _UTF8.header_encoding = QP


def alert_message(
    sender: str, to: str, subject: str, text: str, *, unsubscribe_url: str
) -> Message:
    """The same letter as :func:`message`, built about three times cheaper: a
    thousand alerts spent most of their CPU in the ``email`` package parsing
    each header it had just been given (bench/README.md, issue 18). Headers
    are stored as given and only the subject is encoded (RFC 2047, folded
    between encoded words) when it is not ASCII; the text goes
    quoted-printable in UTF-8; nothing else is folded (``_flatten``). A value with a line
    break, or an address that is not ASCII, takes :func:`message`'s path,
    which refuses or encodes it as the ``email`` package does."""
    plain = (sender, to, unsubscribe_url)
    if any(not value.isascii() for value in plain) or any(
        "\r" in value or "\n" in value for value in (*plain, subject)
    ):
        return message(sender, to, subject, text, unsubscribe_url=unsubscribe_url)
    mail = Message()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = (
        subject
        if subject.isascii()
        else Header(subject, _UTF8, header_name="Subject").encode(linesep="\r\n")
    )
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["MIME-Version"] = "1.0"
    mail.set_payload(text if text.endswith("\n") else text + "\n", _UTF8)  # as set_content
    return mail


_UNFOLDED = compat32.clone(linesep="\r\n", max_line_length=0)


def _flatten(mail: Message) -> bytes:
    """An ``alert_message`` as sent: compat32 would fold the long unsubscribe link
    onto a line of its own, which some readers take with a leading space."""
    out = BytesIO()
    BytesGenerator(out, policy=_UNFOLDED, mangle_from_=False).flatten(mail)
    return out.getvalue()


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

    async def send(self, mail: Message) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                if client is None or not client.is_connected:
                    client = _client(self._settings)
                    await client.connect()
                if isinstance(mail, EmailMessage):
                    await client.send_message(mail)
                else:
                    sender, to = parseaddr(mail["From"])[1], parseaddr(mail["To"])[1]
                    await client.sendmail(sender, [to], _flatten(mail))
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
