"""Every user-facing string is translatable, and translated.

(a) A template fails when it shows text (or a title, alt, placeholder,
aria-label, button value) outside ``_()``/``{% trans %}``.
(b) A catalogue fails when a message the sources use is missing, empty or
fuzzy in it, or when its translation drops or renames a placeholder.

To cover more sources, add their globs to ``TEMPLATE_GLOBS`` and a catalogue
(``node/locale/DOMAIN.cfg``, the mapping ``make messages`` uses) to ``DOMAINS``.
"""

from __future__ import annotations

import pytest

from tests.support.catalogues import (
    NODE,
    extracted,
    merged_catalogue,
    translation_problem,
    untranslated_text,
)

TEMPLATE_GLOBS = ["templates/*.html"]  # relative to node/
# Which languages must be complete for the messages of each catalogue's sources.
DOMAINS: dict[str, tuple[str, ...]] = {"public": ("cy", "es")}


def _templates() -> list[str]:
    return sorted(str(p.relative_to(NODE)) for g in TEMPLATE_GLOBS for p in NODE.glob(g))


@pytest.mark.parametrize("template", _templates())
def test_a_template_shows_no_text_outside_translation(template: str) -> None:
    found = untranslated_text((NODE / template).read_text())
    assert not found, f"node/{template} shows untranslated text: {found}"


def test_the_template_check_catches_text_titles_and_buttons_but_not_markup() -> None:
    source = """{# a comment #}<p class="x" id="y">{{ _("Fine") }}</p>
    <style>.a { color: red }</style><script>let a = 1;</script>
    <a href="/calendar" title="Calendar">{{ name }}</a> &middot; 12
    <input type="submit" value="Send"><input type="text" value="{{ v }}" name="q">
    <img alt="A map"><span aria-label="{{ _('Ok') }}">Hello {{ who }}</span>
    {% trans %}Also fine{% endtrans %}"""
    assert untranslated_text(source) == [
        'a title="Calendar"',
        'input value="Send"',
        'img alt="A map"',
        "Hello …",
    ]


def _cases() -> list[tuple[str, str]]:
    return [(domain, lang) for domain, langs in DOMAINS.items() for lang in langs]


@pytest.mark.parametrize(("domain", "language"), _cases())
def test_a_catalogue_translates_every_message_of_its_sources(domain: str, language: str) -> None:
    catalogue, plurals = merged_catalogue(language)
    messages = list(extracted(domain))
    assert len(messages) > 20, "the extraction found (almost) nothing: check the .cfg"
    problems = {
        f"{m.where}: {m.key!r}: {problem}"
        for m in messages
        if (problem := translation_problem(m, catalogue, plurals))
    }
    assert not problems, f"{language} ({domain}):\n" + "\n".join(sorted(problems))


def test_a_translation_that_drops_or_renames_a_placeholder_is_caught() -> None:
    from babel.messages.catalog import Catalog

    from tests.support.catalogues import Message

    catalogue = Catalog(locale="cy")
    catalogue.add("Saved %(title)s", "Cadwyd %(teitl)s")
    catalogue.add(("%(num)d person", "%(num)d people"), ("", "", "", "", "", ""))
    catalogue.add("Fuzzy", "Niwlog", flags={"fuzzy"})
    saved = Message("Saved %(title)s", None, "x")
    people = Message(("%(num)d person", "%(num)d people"), None, "x")
    assert "placeholders" in (translation_problem(saved, catalogue, 6) or "")
    assert "plural forms" in (translation_problem(people, catalogue, 6) or "")
    assert translation_problem(Message("Fuzzy", None, "x"), catalogue, 6) == "fuzzy"
    assert translation_problem(Message("Absent", None, "x"), catalogue, 6) == "missing"
