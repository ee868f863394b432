"""The current language picks the catalogue; English is the fallback for anything missing."""

from __future__ import annotations

from node import i18n
from node.web.templating import make_templates


def test_a_string_is_looked_up_in_the_current_language() -> None:
    with i18n.speaking("cy"):
        assert i18n.gettext("Upcoming events") == "Digwyddiadau i ddod"
    assert i18n.gettext("Upcoming events") == "Upcoming events"


def test_a_regional_tag_speaks_its_language_and_an_unknown_one_speaks_english() -> None:
    assert i18n.supported("cy-GB") == "cy"
    assert i18n.supported("fr") is None
    with i18n.speaking("fr"):
        assert i18n.current_language() == "en"


def test_templates_translate_and_escape_placeholders() -> None:
    env = make_templates().env
    page = env.from_string('{{ _("Upcoming events") }} {{ _("Hello %(name)s", name=who) }}')
    with i18n.speaking("cy"):
        assert page.render(who="<b>") == "Digwyddiadau i ddod Hello &lt;b&gt;"
