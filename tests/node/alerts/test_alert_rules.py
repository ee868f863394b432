"""The pure rules of alerts: retry policy, the words of every change, the
SMTP settings, and what a callout's change is called."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from node.alerts.policy import MAX_ATTEMPTS, next_alert_attempt
from node.alerts.words import CALLOUT_CHANGES, callout_change, words_for
from node.config import ConfigError, load_settings

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)


def test_every_change_the_state_machine_may_queue_has_words() -> None:
    assert set(CALLOUT_CHANGES) == {
        "published",
        "confirmed",
        "enough",
        "met",
        "false-alarm",
        "cancelled",
        "reopened",
    }
    for change in CALLOUT_CHANGES:
        words = words_for("callout", change)
        assert words.headline and words.state.endswith(".")


@pytest.mark.parametrize(
    ("previous", "status", "change"),
    [
        (None, "open", "published"),
        (None, "met", None),
        ("open", "met", "met"),
        ("open", "cancelled", "cancelled"),
        ("met", "open", "reopened"),
        ("open", "open", None),
    ],
)
def test_a_remote_callouts_status_change_is_named(
    previous: str | None, status: str, change: str | None
) -> None:
    assert callout_change(previous, status) == change


def test_a_server_error_is_retried_with_backoff_until_the_callout_ends() -> None:
    rng = random.Random(1)
    first = next_alert_attempt(1, status=500, retry_after=None, now=NOW, deadline=LATER, rng=rng)
    assert first.retry_at is not None and NOW + timedelta(seconds=15) <= first.retry_at
    assert first.retry_at <= NOW + timedelta(seconds=30)
    late = next_alert_attempt(
        5, status=None, retry_after=None, now=NOW, deadline=NOW + timedelta(seconds=20), rng=rng
    )
    assert late.give_up


@pytest.mark.parametrize("status", [400, 404, 410, 413, 501])
def test_final_answers_are_not_retried(status: int) -> None:
    decision = next_alert_attempt(1, status=status, retry_after=None, now=NOW, deadline=LATER)
    assert decision.give_up


def test_retries_stop_after_max_attempts_and_honour_retry_after() -> None:
    assert next_alert_attempt(
        MAX_ATTEMPTS, status=503, retry_after=None, now=NOW, deadline=LATER
    ).give_up
    hinted = next_alert_attempt(1, status=429, retry_after="600", now=NOW, deadline=LATER)
    assert hinted.retry_at == NOW + timedelta(seconds=600)


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"TOCSIN_DATA_DIR": str(tmp_path / "data"), **values}


def test_smtp_url_gives_host_port_credentials_and_tls(tmp_path: Path) -> None:
    plain = load_settings(_env(tmp_path, TOCSIN_SMTP_URL="smtp://ann:p%40ss@mail.example:2525"))
    assert plain.smtp is not None
    assert (plain.smtp.host, plain.smtp.port, plain.smtp.username, plain.smtp.password) == (
        "mail.example",
        2525,
        "ann",
        "p@ss",
    )
    assert not plain.smtp.implicit_tls
    assert plain.mail_from == "network@127.0.0.1"
    tls = load_settings(
        _env(tmp_path, TOCSIN_SMTP_URL="smtps://mail.example", TOCSIN_MAIL_FROM="a@b.example")
    )
    assert tls.smtp is not None and tls.smtp.implicit_tls and tls.smtp.port == 465
    assert tls.mail_from == "a@b.example"
    assert load_settings(_env(tmp_path)).smtp is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOCSIN_SMTP_URL", "http://mail.example"),
        ("TOCSIN_SMTP_URL", "smtp://mail.example:99999"),
        ("TOCSIN_SMTP_URL", "smtp://mail.example/path"),
        ("TOCSIN_MAIL_FROM", "not an address"),
    ],
)
def test_bad_mail_settings_stop_the_node_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env(tmp_path, **{variable: value}))
