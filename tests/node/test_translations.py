"""Every user-facing string is translatable, translated, and translated one way.

For each catalogue (``public``: the public site, alerts, what federates; ``admin``:
the admin, the command line, the demo), whose sources are the ones
``node/locale/DOMAIN.cfg`` maps (the mapping ``make messages`` uses, so the tests
and the catalogues never disagree about which files count):

(a) a template fails when it shows text (or a title, alt, placeholder, aria-label,
button value) outside ``_()``/``{% trans %}``;
(b) a language fails when a message of the sources is missing, empty or fuzzy in
it, or when its translation drops or renames a placeholder;
(c) a language fails when two of its ``.po`` files translate the same message
(same msgid, same context) differently: they are merged at load and the later
file wins everywhere (docs/glossary.md holds the words both files use).

Also: each check catches what it is for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from node.i18n import LANGUAGES, SOURCE_LANGUAGE, lazy_pgettext, pgettext, speaking
from node.web.templating import make_templates
from tests.support.translations import (
    NODE,
    Message,
    extracted,
    merged_catalogue,
    templates,
    translation_problem,
    two_translations,
    untranslated_text,
)

# Which languages must be complete for the messages of each catalogue's sources.
DOMAINS: dict[str, tuple[str, ...]] = {"public": ("cy", "es"), "admin": ("cy", "es")}
TRANSLATED = sorted(set(LANGUAGES) - {SOURCE_LANGUAGE})


def _templates() -> list[pytest.ParameterSet]:
    return [pytest.param(domain, name, id=name) for domain in DOMAINS for name in templates(domain)]


@pytest.mark.parametrize(("domain", "template"), _templates())
def test_a_template_shows_no_text_outside_translation(domain: str, template: str) -> None:
    found = untranslated_text((NODE / template).read_text(encoding="utf-8"))
    assert not found, f"node/{template} ({domain}) shows untranslated text: {found}"


def test_every_catalogue_maps_its_templates() -> None:
    assert "templates/base.html" in templates("public")
    assert "templates/admin/base.html" in templates("admin")
    assert not set(templates("public")) & set(templates("admin"))


def test_the_template_check_catches_text_titles_and_buttons_but_not_markup() -> None:
    source = """{# a comment #}<p class="x" id="y">{{ _("Fine") }} Not fine</p>
    <style>.a { color: red }</style><script>let a = 1;</script>
    <a href="/calendar" title="Calendar">{{ name }}</a> &middot; 12 &nbsp;—
    <input type="submit" value="Send"><input type="text" value="{{ v }}" name="q">
    <input {{ attrs }} aria-invalid="true"{% if e %} aria-describedby="{{ e }}"{% endif %}>
    <img alt="A map"><span aria-label="{{ _('Ok') }}">Hello {{ who }}</span>
    {% trans %}Also fine{% endtrans %}"""
    assert untranslated_text(source) == [
        "… Not fine",
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
    assert len(messages) > 200, "the extraction found (almost) nothing: check the .cfg"
    problems = {
        f"{m.where}: {m.key!r}: {problem}"
        for m in messages
        if (problem := translation_problem(m, catalogue, plurals))
    }
    assert not problems, f"{language} ({domain}):\n" + "\n".join(sorted(problems))


def test_the_command_lines_messages_are_in_the_admin_catalogue() -> None:
    # Babel's `*` is one or more characters: `cli*.py` alone would leave cli.py out.
    found = {m.where.split(":")[0] for m in extracted("admin")}
    assert {"node/cli.py", "node/cli_content.py", "node/web/admin/forms.py"} <= found


def test_a_translation_that_drops_or_renames_a_placeholder_is_caught() -> None:
    catalogue = Catalog(locale="cy")
    catalogue.add("Saved %(title)s", "Cadwyd %(teitl)s")
    catalogue.add(("%(num)d person", "%(num)d people"), ("", "", "", "", "", ""))
    catalogue.add("Fuzzy", "Niwlog", flags={"fuzzy"})
    catalogue.add("Confirmed", "Wedi'u cadarnhau", context="people")
    saved = Message("Saved %(title)s", None, "x")
    people = Message(("%(num)d person", "%(num)d people"), None, "x")
    assert "placeholders" in (translation_problem(saved, catalogue, 6) or "")
    assert "plural forms" in (translation_problem(people, catalogue, 6) or "")
    assert translation_problem(Message("Fuzzy", None, "x"), catalogue, 6) == "fuzzy"
    assert translation_problem(Message("Absent", None, "x"), catalogue, 6) == "missing"
    assert translation_problem(Message("Confirmed", "people", "x"), catalogue, 6) is None
    assert translation_problem(Message("Confirmed", "callout", "x"), catalogue, 6) == "missing"


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_message_has_two_translations_in_one_language(language: str) -> None:
    found = two_translations(language)
    assert not found, f"{language}: translated two ways across its .po files:\n" + "\n".join(found)


def _po(path: Path, entries: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    path.write_text(header + entries, encoding="utf-8")


def test_the_two_translations_check_names_the_message_and_minds_contexts(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "es" / "LC_MESSAGES"
    _po(
        folder / "admin.po",
        'msgid "Callouts"\nmsgstr "Llamamientos"\n\n'
        'msgctxt "people"\nmsgid "Confirmed"\nmsgstr "Confirmadas"\n\n'
        'msgid "Same"\nmsgstr "Igual"\n\nmsgid "Left empty"\nmsgstr ""\n',
    )
    _po(
        folder / "public.po",
        'msgid "Callouts"\nmsgstr "Convocatorias"\n\n'
        'msgctxt "callout"\nmsgid "Confirmed"\nmsgstr "Confirmada"\n\n'
        'msgid "Same"\nmsgstr "Igual"\n\nmsgid "Left empty"\nmsgstr "Vacío"\n',
    )
    assert two_translations("es", tmp_path) == [
        "'Callouts': {'admin.po': 'Llamamientos', 'public.po': 'Convocatorias'}"
    ]
    assert merged_catalogue("es", tmp_path)[0].get("Callouts").string == "Convocatorias"


def test_a_word_with_two_meanings_has_each_translation_in_code_and_templates() -> None:
    page = make_templates().env.from_string(
        '{{ pgettext("event", "Cancelled") }}/{{ _("Cancelled") }}/'
        '{{ pgettext("people", "Confirmed") }}'
    )
    with speaking("es"):
        assert page.render() == "Cancelado/Cancelada/Confirmadas"
        assert pgettext("callout", "Confirmed") == "Confirmada"
        assert str(lazy_pgettext("people", "Confirmed")) == "Confirmadas"
    with speaking("cy"):
        assert page.render() == "Wedi'i ganslo/Wedi'i chanslo/Wedi'u cadarnhau"
