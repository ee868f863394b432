"""HTML that is safe to store, publish and render: one allowlist, used everywhere.

Remote servers send HTML in ``content``; local editors write Markdown. Both end
up in our pages and in other servers' timelines, so both go through the same
allowlist, the one Mastodon applies to everything it receives (docs/interop.md,
"Content"): a few inline and block tags, microformat and mention classes only, and
links only to ``http``, ``https`` and ``mailto`` with ``rel="nofollow noopener
noreferrer"``. Anything else (scripts, styles, event handlers, ``javascript:``
links, images that would load third-party assets) is removed.

nh3 (ammonia, html5ever) does the parsing, in linear time; we never parse HTML
with regular expressions. ``html_to_text`` only applies regexes to nh3's own
output, which has no attributes and escapes every ``<`` in text, so each regex
there is linear too.
"""

from __future__ import annotations

import html
import re
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "span", "a", "del", "pre", "code", "em", "strong",
        "b", "i", "u", "ul", "ol", "li", "blockquote",
    }
)  # fmt: skip
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "class"},
    "span": {"class"},
    "p": {"class"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
_CLASS_NAMES = frozenset({"mention", "hashtag", "ellipsis", "invisible"})
_CLASS_PREFIXES = ("h-", "p-", "u-", "dt-", "e-")
# Removed together with everything inside them, not just unwrapped.
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "iframe", "object", "noscript", "svg", "math", "title"}
)
_INTEGER = re.compile(r"-?\d{1,9}")


def _allowed_class(name: str) -> bool:
    return name in _CLASS_NAMES or name.startswith(_CLASS_PREFIXES)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Keep only Mastodon's classes and numeric list attributes; pass the rest through."""
    if attribute == "class":
        kept = [name for name in value.split() if _allowed_class(name)]
        return " ".join(kept) or None
    if attribute in {"start", "value"}:
        return value if _INTEGER.fullmatch(value.strip()) else None
    return value


def _encodable(text: str) -> str:
    """``text`` without lone surrogates (JSON can carry them; UTF-8 and nh3 cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def sanitize_html(html_text: str) -> str:
    """``html_text`` reduced to Mastodon's allowlist; safe to store and render."""
    return nh3.clean(
        _encodable(html_text),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def _heading_open(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "<p><strong>"  # Mastodon's own rendering of h1 to h6


def _heading_close(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "</strong></p>\n"


def _image(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image becomes a link to it: we embed no assets, but keep the alt text."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("image", _image)
    return md


def markdown_to_html(md: str) -> str:
    """CommonMark without raw HTML, rendered and then sanitised like remote HTML."""
    return sanitize_html(_markdown().render(md))


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TEXT_TAGS = frozenset({"p", "br", "ul", "ol", "li", "blockquote", "pre", "div", "tr", *_HEADINGS})
_WHITESPACE = re.compile(r"\s+")
_LINE_BREAK = re.compile(r"<br>")
_BLOCK = re.compile(r"</?(?:p|ul|ol|blockquote|pre|div|tr|h[1-6])>")
_ITEM_START = re.compile(r"<li>")
_TAG = re.compile(r"<[^<>]*>")
_BLANK_LINES = re.compile(r"\n{3,}")


def html_to_text(html_text: str) -> str:
    """Plain text of an HTML fragment: paragraphs and breaks kept, everything else dropped.

    For summaries and feeds; the result is text, so escape it again to put it in HTML.
    """
    cleaned = nh3.clean(
        _encodable(html_text),
        tags=set(_TEXT_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={},
        link_rel=None,
        strip_comments=True,
    )
    text = _WHITESPACE.sub(" ", cleaned)
    text = _LINE_BREAK.sub("\n", text)
    text = _BLOCK.sub("\n\n", text)
    text = _ITEM_START.sub("\n- ", text)
    text = html.unescape(_TAG.sub("", text)).replace("\xa0", " ")
    lines = (line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
