"""Checks of translations, shared by the tests that hold a part of the product to them.

``untranslated_text`` reads a template with Jinja's lexer: every ``{{ … }}``,
``{% … %}`` and ``{# … #}`` becomes a mark without letters, and the HTML left is
parsed for text a person reads (element text, and the ``title``, ``alt``,
``placeholder``, ``aria-label`` and button ``value`` attributes) that has
letters outside ``_()``. ``messages`` extracts the strings of some files with
Babel (python and jinja2 extractors, the keywords of node/i18n.py), and
``catalogue_problems`` names every one a language's ``.po`` files miss, leave
empty, mark fuzzy, or translate with other placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from node.i18n import LOCALE_DIR
from node.web.templating import make_templates

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
}
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
MARK = "\u00a7"  # stands for an expression or tag of the template: no letters
LETTERS = re.compile(r"[^\W\d_]")
ENTITY = re.compile(r"&#?\w+;")
# a macro that writes attributes (``aria-invalid="true"``) puts them outside any tag
ATTRIBUTE = re.compile(r'(?:[\w-]+)?="[^"]*"')
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%%")
MsgId = str | tuple[str, ...]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.found: list[str] = []
        self._skip = 0  # inside <style> or <script>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        values = dict(attrs)
        shown = [name for name in READ_ATTRIBUTES if name in values]
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            shown.append("value")
        for name in shown:
            self._check(values[name] or "", f"<{tag} {name}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(ATTRIBUTE.sub(" ", data), "text")

    def _check(self, text: str, where: str) -> None:
        left = ENTITY.sub("", text.replace(MARK, " ")).strip()
        if LETTERS.search(left):
            self.found.append(f"{where}: {left!r}")


def untranslated_text(template: Path) -> list[str]:
    """The readable text of ``template`` outside ``_()`` and ``{% trans %}``."""
    env = make_templates().env
    source = template.read_text(encoding="utf-8")
    kept: list[str] = []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            kept.append(value)
        elif kind in ("variable_begin", "block_begin", "comment_begin", "linecomment_begin"):
            kept.append(MARK)
    reader = _Reader()
    reader.feed("".join(kept))
    reader.close()
    return reader.found


def messages(paths: Iterable[Path]) -> dict[MsgId, str]:
    """Every msgid in ``paths`` (a plural's as its tuple of forms) -> where it first is."""
    found: dict[MsgId, str] = {}
    for path in paths:
        html = path.suffix == ".html"
        method = "jinja2.ext:babel_extract" if html else "python"
        options = {"extensions": "jinja2.ext.i18n"} if html else {}
        with path.open("rb") as handle:
            for line, message, _comments, _context in extract(
                method, handle, keywords=KEYWORDS, options=options
            ):
                key = message if isinstance(message, str) else tuple(message)
                found.setdefault(key, f"{path.relative_to(ROOT)}:{line}")
    return found


def catalogue(language: str) -> dict[MsgId, Message]:
    """Every message of ``language``'s ``.po`` files, merged as node/i18n.py merges them."""
    merged: dict[MsgId, Message] = {}
    for po in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id:
                    key = message.id if isinstance(message.id, str) else tuple(message.id)
                    merged[key] = message
    return merged


def _forms(message: Message) -> list[str]:
    text = message.string
    return [text] if isinstance(text, str) else list(text)


def catalogue_problems(language: str, wanted: dict[MsgId, str]) -> Iterator[str]:
    """Why each of ``wanted`` is not properly translated into ``language``."""
    known = catalogue(language)
    for key, where in wanted.items():
        message = known.get(key)
        shown = key if isinstance(key, str) else key[0]
        if message is None:
            yield f"{where}: missing: {shown!r}"
            continue
        forms = _forms(message)
        if message.fuzzy or not all(forms):
            yield f"{where}: {'fuzzy' if message.fuzzy else 'empty'}: {shown!r}"
            continue
        source = set(PLACEHOLDER.findall(" ".join([key] if isinstance(key, str) else key)))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != source:
                yield f"{where}: placeholders differ: {shown!r} -> {form!r}"
