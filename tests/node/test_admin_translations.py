"""The admin, the command line and the demo are translatable, and Welsh is complete.

Two checks (the public site's have the same shape): no admin template shows
text outside ``_()``, and every string of the admin's files has a Welsh
translation that keeps its placeholders. Also: the checks themselves catch
what they are for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.admin_translations import (
    ROOT,
    catalogue_problems,
    messages,
    untranslated_text,
)

ADMIN_TEMPLATES = sorted((ROOT / "node/templates/admin").glob("*.html"))
ADMIN_CODE = [
    *sorted((ROOT / "node/web/admin").glob("**/*.py")),
    *sorted((ROOT / "node").glob("cli*.py")),
    *(
        ROOT / name
        for name in (
            "node/demo.py",
            "node/audit.py",
            "node/users.py",
            "node/content/validation.py",
            "node/content/callout_states.py",
            "node/content/callouts.py",
            "node/content/events.py",
            "node/content/responders.py",
            "node/content/shares.py",
            "node/follows.py",
            "node/allowlist.py",
            "node/block_csv.py",
            "node/blocklist_subscriptions.py",
        )
    ),
]


@pytest.mark.parametrize("template", ADMIN_TEMPLATES, ids=lambda path: path.name)
def test_an_admin_template_shows_no_untranslated_text(template: Path) -> None:
    assert untranslated_text(template) == []


def test_the_check_finds_text_and_read_attributes_outside_gettext(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        '{# a comment #}<p class="lead">{{ _("Fine") }} Not fine</p>'
        '<a href="/x" title="Loose title">{{ name }}</a>'
        '<input type="submit" value="Send"><style>p { color: red }</style>&nbsp;—'
    )
    found = untranslated_text(page)
    assert found == ["text: 'Not fine'", "<a title>: 'Loose title'", "<input value>: 'Send'"]


def test_every_admin_string_is_translated_into_welsh() -> None:
    wanted = messages([*ADMIN_TEMPLATES, *ADMIN_CODE])
    assert len(wanted) > 500  # the extraction found the admin's strings
    assert list(catalogue_problems("cy", wanted)) == []


def test_the_welsh_check_names_a_missing_string_and_a_lost_placeholder() -> None:
    wanted = {"Not in any catalogue, ever": "here:1", "Log out %(username)s": "there:2"}
    problems = list(catalogue_problems("cy", wanted))
    assert problems[0] == "here:1: missing: 'Not in any catalogue, ever'"
    assert len(problems) == 1  # the real translation keeps %(username)s


def test_every_admin_string_is_translated_into_spanish_too() -> None:
    wanted = messages([*ADMIN_TEMPLATES, *ADMIN_CODE])
    assert list(catalogue_problems("es", wanted)) == []
