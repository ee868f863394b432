"""The audit log reads as sentences, with consecutive logins of one person folded
into one line giving the count and the time range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from node.audit import entry_sentence, group_logins
from node.models import AuditEntry
from tests.support.admin import CALLOUT_FORM, logged_in, post_form
from tests.support.nodes import Node

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("action", "target", "sentence"),
    [
        ("callout.close", 'https://n.example/callouts/4 "Eviction at 7am"',
         "closed the callout 'Eviction at 7am'"),
        ("event.create", 'https://n.example/events/1 "Assembly"', "posted the event 'Assembly'"),
        ("domain.block", "evil.example: spam", "blocked evil.example: spam"),
        ("login", "", "logged in"),
        ("login", "recovery code", "logged in with a recovery code"),
        ("profile.update", "display_name, summary", "changed the network's name, description"),
        ("settings.require_totp", "on", "required two-factor login for admins"),
        ("user.role", "eve: editor → admin", "changed the role of eve: editor → admin"),
        ("something.new", "x", "something.new x"),
    ],
)  # fmt: skip
def test_each_action_reads_as_a_sentence(action: str, target: str, sentence: str) -> None:
    assert entry_sentence(action, target) == sentence


def _entry(who: str, action: str, minutes: int, target: str = "") -> AuditEntry:
    return AuditEntry(
        username=who, action=action, target=target, created_at=T0 + timedelta(minutes=minutes)
    )


def test_consecutive_logins_of_one_user_fold_into_one_line() -> None:
    newest_first = [
        _entry("ada", "login", 50),
        _entry("ada", "login", 30),
        _entry("ada", "login", 10),
        _entry("bob", "login", 5),
        _entry("ada", "login", 4),
        _entry("ada", "domain.unblock", 3, "ok.example"),
        _entry("ada", "login", 2),
    ]
    lines = group_logins(newest_first)
    assert [line.sentence for line in lines] == [
        "ada logged in (3 times)",
        "bob logged in",
        "ada logged in",
        "ada unblocked ok.example",
        "ada logged in",
    ]
    assert lines[0].first == T0 + timedelta(minutes=10)
    assert lines[0].last == T0 + timedelta(minutes=50)


async def test_the_audit_page_shows_sentences_and_grouped_logins(node: Node) -> None:
    async with node.ctx.sessions() as session, session.begin():
        for minutes in (1, 2, 3):
            session.add(_entry("ada", "login", minutes))
    async with logged_in(node, "boss", "admin") as admin:
        created = await post_form(admin, "/admin/callouts/new", **CALLOUT_FORM)
        assert created.status_code == 303
        page = await admin.get("/admin/audit")
    text = unescape(page.text)
    assert "<strong>boss</strong> posted the callout 'Eviction at 7am'" in text
    assert "<strong>ada</strong> logged in (3 times)" in text
    assert "2026-11-28 09:01 UTC</time> \N{EN DASH} <time" in text
    assert "callout.create" not in text
