"""Reading templates and catalogues for the translation tests (tests/node/test_translations.py),
the same for every catalogue (``public``, ``admin``): the user-facing text a template shows
outside ``_()``/``{% trans %}``, the sources and messages of a catalogue as
``node/locale/DOMAIN.cfg`` maps them (the mapping ``make messages`` uses), what is wrong
with a translation, and the messages a language's files translate in two ways."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node"
LOCALE = NODE / "locale"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
}
# Attributes a person reads or hears (a screen reader says aria-label and title).
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}
BUTTON_TYPES = {"submit", "button", "reset"}
SKIPPED_ELEMENTS = {"script", "style"}
LETTER = re.compile(r"[^\W\d_]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# a macro that writes attributes (``aria-invalid="true"``) leaves them outside any tag
ATTRIBUTE = re.compile(r'(?:[\w-]+)?="[^"]*"')
HOLE = "\u0660"  # where a {{ … }} or {% … %} was: a digit (never a letter), valid in a tag name


def template_data(source: str) -> str:
    """The template's literal text, every Jinja tag and expression replaced by a hole."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    parts: list[str] = []
    in_trans = False  # {% trans %}…{% endtrans %} is translated as a whole
    previous = ""
    for _line, kind, value in env.lex(source):
        if kind == "data" and not in_trans:
            parts.append(value)
        elif kind in ("variable_begin", "block_begin"):
            parts.append(HOLE)
        elif kind == "name" and previous == "block_begin":
            in_trans = value == "trans" or (in_trans and value != "endtrans")
        if kind != "whitespace":
            previous = kind
    return "".join(parts)


class _TextFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_ELEMENTS:
            self._skipping += 1
        values = dict(attrs)
        read = set(READ_ATTRIBUTES)
        if tag in ("input", "button") and (values.get("type") or "").lower() in BUTTON_TYPES:
            read.add("value")
        for name, value in attrs:
            if name in read and value and LETTER.search(value.replace(HOLE, "")):
                self.found.append(f'{tag} {name}="{value.replace(HOLE, "…")}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_ELEMENTS and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and LETTER.search(ATTRIBUTE.sub("", data).replace(HOLE, "")):
            self.found.append(" ".join(data.replace(HOLE, "…").split()))


def untranslated_text(source: str) -> list[str]:
    """The text and read attributes of a template that are not inside ``_()``/trans."""
    finder = _TextFinder()
    finder.feed(template_data(source))
    finder.close()
    return finder.found


@dataclass(frozen=True)
class Message:
    msgid: str | tuple[str, str]
    context: str | None
    where: str

    @property
    def key(self) -> str:
        return self.msgid if isinstance(self.msgid, str) else self.msgid[0]


def _mapping(domain: str) -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    with (LOCALE / f"{domain}.cfg").open() as handle:
        return parse_mapping_cfg(handle)


def templates(domain: str) -> list[str]:
    """The templates (relative to node/) that ``node/locale/DOMAIN.cfg`` maps, matched as
    Babel matches them (its ``*`` is one or more characters)."""
    patterns = [pattern for pattern, method in _mapping(domain)[0] if method == "jinja2"]
    found = (str(path.relative_to(NODE)) for path in NODE.rglob("*.html"))
    return sorted(name for name in found if any(pathmatch(p, name) for p in patterns))


def extracted(domain: str) -> Iterator[Message]:
    """Every message of the sources ``node/locale/DOMAIN.cfg`` maps, as Babel extracts them."""
    method_map, options_map = _mapping(domain)
    for filename, line, msgid, _comments, context in extract_from_dir(
        str(NODE), method_map, options_map, keywords=KEYWORDS
    ):
        yield Message(msgid, context, f"node/{filename}:{line}")


def merged_catalogue(language: str, locale: Path = LOCALE) -> tuple[Catalog, int]:
    """Every ``.po`` of ``language`` in one catalogue, as node/i18n.py merges them, and
    how many plural forms its header declares."""
    merged = Catalog(locale=language)
    plurals = 2
    for po in sorted((locale / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            part = read_po(handle, locale=language)
        plurals = part.num_plurals
        for message in part:
            if message.id:
                # assigning to a known id would keep its string: the later file must win
                merged.delete(message.id, context=message.context)
                merged[message.id] = message
    return merged, plurals


def _names(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def translation_problem(message: Message, catalogue: Catalog, plurals: int) -> str | None:
    """What is wrong with ``message``'s translation in ``catalogue``, or None."""
    found = catalogue.get(message.key, context=message.context)
    if found is None:
        return "missing"
    if found.fuzzy:
        return "fuzzy"
    if isinstance(message.msgid, str):
        text = found.string if isinstance(found.string, str) else ""
        if not text:
            return "empty"
        if _names(text) != _names(message.msgid):
            return f"placeholders {sorted(_names(text))} instead of {sorted(_names(message.msgid))}"
        return None
    forms = found.string if isinstance(found.string, tuple | list) else ()
    if len(forms) != plurals or not all(forms):
        return f"needs {plurals} plural forms, has {sum(1 for form in forms if form)}"
    source = _names(message.msgid[0]) | _names(message.msgid[1])
    for form in forms:
        # a form may leave the number out ("un person"), never another value
        if not _names(form) <= source or (source - {"num"}) - _names(form):
            return f"placeholders {sorted(_names(form))} in {form!r}, from {sorted(source)}"
    return None


def _shown(text: str | tuple[str, ...] | list[str] | None) -> str | tuple[str, ...]:
    return text if isinstance(text, str) else tuple(text or ())


def two_translations(language: str, locale: Path = LOCALE) -> list[str]:
    """Each message (a msgid with its context) that two ``.po`` files of ``language``
    translate differently. node/i18n.py merges the files and the later one wins, so
    such a message would silently read the same everywhere; give each meaning its own
    context (``pgettext``) or agree on one translation. Empty entries do not count."""
    seen: dict[tuple[str | None, str], dict[str, str | tuple[str, ...]]] = {}
    for po in sorted((locale / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale=language):
                text = _shown(message.string)
                if message.id and any(text) and not message.fuzzy:
                    key = message.id if isinstance(message.id, str) else message.id[0]
                    seen.setdefault((message.context, key), {})[po.name] = text
    return [
        f"{key!r}" + (f" (context {context!r})" if context else "") + f": {translations}"
        for (context, key), translations in sorted(seen.items(), key=str)
        if len(set(translations.values())) > 1
    ]
