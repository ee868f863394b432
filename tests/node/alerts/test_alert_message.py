"""The alert e-mail built on the cheap path reads back, in a standard parser,
exactly as the ``email`` package's own letter does; a value that could inject
a header is refused as before."""

from __future__ import annotations

import email
import email.policy
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

import pytest

from node.alerts.mail import _flatten, alert_message, message

SENDER = "haringey@tocsin.example"
LINK = "https://tocsin.example/alerts/unsubscribe?t=DTpKkzau6f-gRZG9qoRu0BTRuCeAi1YjTs6HSFCJA64"
TEXT = "People at the door from 7am — bring a flask.\n\n" + "Area: Tottenham N15. " * 12


def _read_back(mail: Message) -> email.message.EmailMessage:
    if isinstance(mail, email.message.EmailMessage):
        out = BytesIO()
        BytesGenerator(out, policy=email.policy.SMTP).flatten(mail)  # as aiosmtplib does
        data = out.getvalue()
    else:
        data = _flatten(mail)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize(
    "subject",
    [
        "New callout: Eviction at 7am",
        "Galwad newydd: Troi allan yn Heol Elm am 7yb — dewch â ffrindiau, mae angen 30 o bobl",
    ],
)
def test_an_alert_letter_reads_back_as_the_email_packages_own(subject: str) -> None:
    cheap = _read_back(alert_message(SENDER, "a@example.org", subject, TEXT, unsubscribe_url=LINK))
    full = _read_back(message(SENDER, "a@example.org", subject, TEXT, unsubscribe_url=LINK))
    for header in (
        "From",
        "To",
        "Subject",
        "Auto-Submitted",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
    ):
        assert str(cheap[header]) == str(full[header]), header
    assert cheap["Subject"] == subject
    assert cheap["List-Unsubscribe"] == f"<{LINK}>"
    assert cheap["Message-ID"] and cheap["Date"]
    body = cheap.get_content().replace("\r\n", "\n")
    assert body == full.get_content().replace("\r\n", "\n") == TEXT + "\n"


@pytest.mark.parametrize("field", ["subject", "to"])
def test_a_line_break_in_a_header_value_is_refused_not_sent(field: str) -> None:
    values = {"subject": "Callout", "to": "a@example.org"}
    values[field] += "\r\nBcc: everyone@example.org"
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        alert_message(SENDER, values["to"], values["subject"], TEXT, unsubscribe_url=LINK)
