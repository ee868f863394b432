"""Which language the ``tocsin`` command speaks.

``TOCSIN_LANGUAGE`` when it names a language the node speaks; else the
person's own locale (``LANGUAGE``, a list such as ``cy:en``, then the first
set of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``) when supported; else English.
"""

from __future__ import annotations

from collections.abc import Mapping

from node import i18n

_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def command_language(environ: Mapping[str, str]) -> str:
    chosen = i18n.supported(environ.get("TOCSIN_LANGUAGE"))
    if chosen:
        return chosen
    wanted = [tag for tag in environ.get("LANGUAGE", "").split(":") if tag]
    locale = next((environ[name] for name in _LOCALE_VARIABLES if environ.get(name)), "")
    if locale in ("C", "POSIX") or locale.startswith("C."):
        wanted = []  # GNU gettext: the C locale ignores LANGUAGE
    for tag in [*wanted, locale]:
        language = i18n.supported(tag)
        if language:
            return language
    return i18n.SOURCE_LANGUAGE
