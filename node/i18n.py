"""Translations: which language this request, job or command speaks, and its catalogue.

English is the source language: strings are written in English in the code and
the templates and looked up in the catalogue of the current language, which
falls back to the English text when a string has no translation.

Catalogues are gettext ``.po`` files under ``node/locale/LANG/LC_MESSAGES/``,
one per part of the product (``public.po`` for the public site, alerts and
what federates; ``admin.po`` for the admin and the CLI). A language's files
are read once per process and merged, so a string is found whichever file
holds it. The ``.po`` files are read directly (no compiled ``.mo`` is kept in
the repository): a few hundred strings parse in milliseconds.

The current language is a context variable, so each request (and each task
the worker runs) has its own without passing it down every call.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"
# The languages a node can speak, with their names in themselves (for the switcher).
LANGUAGES: dict[str, str] = {"en": "English", "cy": "Cymraeg", "es": "Español"}

_current: ContextVar[str] = ContextVar("tocsin_language", default=SOURCE_LANGUAGE)


def supported(language: str | None) -> str | None:
    """``language`` when the node speaks it (``cy-GB`` counts as ``cy``), else None."""
    if not language:
        return None
    base = language.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


@cache
def catalogue(language: str) -> gettext_module.NullTranslations:
    """Every ``.po`` file of ``language`` merged; English (or an unknown language) is the source."""
    merged = gettext_module.NullTranslations()
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return merged
    for po in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            parsed = read_po(handle, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, parsed)
        compiled.seek(0)
        part = gettext_module.GNUTranslations(compiled)
        if isinstance(merged, gettext_module.GNUTranslations):
            merged._catalog.update(part._catalog)  # type: ignore[attr-defined]
        else:
            merged = part
    return merged


def current_language() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """For the rest of this task (request, job, command): speak ``language``."""
    _current.set(supported(language) or SOURCE_LANGUAGE)


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Within the block, speak ``language`` (an alert in the node's language, say)."""
    token = _current.set(supported(language) or SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str, **values: object) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled."""
    text = catalogue(_current.get()).gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, count: int, **values: object) -> str:
    """The singular or plural form for ``count``; ``%(num)d`` is ``count``."""
    text = catalogue(_current.get()).ngettext(singular, plural, count)
    return text % {"num": count, **values}


def pgettext(context: str, message: str, **values: object) -> str:
    """``message`` disambiguated by ``context`` ("May" the month, "May" the verb)."""
    text = catalogue(_current.get()).pgettext(context, message)
    return text % values if values else text


def lazy_gettext(message: str, **values: object) -> LazyProxy:
    """For module-level strings (labels, choices): translated each time it is shown."""
    return LazyProxy(gettext, message, enable_cache=False, **values)


def lazy_pgettext(context: str, message: str, **values: object) -> LazyProxy:
    """``lazy_gettext`` with a context, for a module-level word that means two things."""
    return LazyProxy(pgettext, context, message, enable_cache=False, **values)


def raw_gettext(message: str) -> str:
    """The translation alone, unformatted: for Jinja, which fills placeholders itself."""
    return catalogue(_current.get()).gettext(message)


def raw_ngettext(singular: str, plural: str, count: int) -> str:
    return catalogue(_current.get()).ngettext(singular, plural, count)


def raw_pgettext(context: str, message: str) -> str:
    return catalogue(_current.get()).pgettext(context, message)


_ = gettext
