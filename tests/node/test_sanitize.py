"""The one HTML allowlist: remote HTML, local Markdown and plain-text extraction."""

from __future__ import annotations

import pytest

from node.sanitize import html_to_text, markdown_to_html, sanitize_html

REL = 'rel="nofollow noopener noreferrer"'


def test_script_and_style_are_removed_with_their_content() -> None:
    cleaned = sanitize_html("<p>hi</p><script>alert(1)</script><style>p{color:red}</style>")
    assert cleaned == "<p>hi</p>"


def test_event_handlers_are_stripped() -> None:
    cleaned = sanitize_html(
        '<p onclick="steal()">x<img src="https://t.example/p.gif" onerror="alert(1)"></p>'
    )
    assert cleaned == "<p>x</p>"
    assert "onerror" not in cleaned and "onclick" not in cleaned


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "data:text/html,x",
        "/relative",
    ],
)
def test_unsafe_and_relative_links_lose_their_href(href: str) -> None:
    cleaned = sanitize_html(f'<a href="{href}">click</a>')
    assert "href" not in cleaned
    assert "click" in cleaned


@pytest.mark.parametrize(
    "href", ["https://a.example/x", "http://a.example/", "mailto:tenants@a.example"]
)
def test_safe_links_keep_their_href_and_get_rel(href: str) -> None:
    cleaned = sanitize_html(f'<a href="{href}" rel="me" target="_blank">x</a>')
    assert cleaned == f'<a href="{href}" {REL}>x</a>'


def test_only_mastodons_tags_survive() -> None:
    cleaned = sanitize_html(
        "<h1>T</h1><div><p><b>b</b><i>i</i><u>u</u><del>d</del><em>e</em><strong>s</strong>"
        "<code>c</code></p><pre>p</pre><blockquote>q</blockquote><ul><li>l</li></ul>"
        "<table><tr><td>cell</td></tr></table><iframe src='https://x.example'>f</iframe></div>"
    )
    assert cleaned == (
        "T<p><b>b</b><i>i</i><u>u</u><del>d</del><em>e</em><strong>s</strong><code>c</code></p>"
        "<pre>p</pre><blockquote>q</blockquote><ul><li>l</li></ul>cell"
    )


def test_classes_are_limited_to_microformats_and_mentions() -> None:
    cleaned = sanitize_html(
        '<p class="h-entry evil"><span class="invisible">https://</span>'
        '<span class="ellipsis big">x</span><a href="https://m.example/@a" '
        'class="u-url mention">@a</a><span class="red">r</span></p>'
    )
    assert 'class="h-entry"' in cleaned
    assert 'class="invisible"' in cleaned
    assert 'class="ellipsis"' in cleaned
    assert 'class="u-url mention"' in cleaned
    assert "evil" not in cleaned and "big" not in cleaned and "red" not in cleaned


def test_list_numbering_attributes_must_be_numbers() -> None:
    assert (
        sanitize_html('<ol start="3"><li value="x">a</li></ol>') == '<ol start="3"><li>a</li></ol>'
    )


def test_comments_and_unknown_tags_are_dropped() -> None:
    assert sanitize_html("<!-- secret --><custom>text</custom>") == "text"


def test_markdown_renders_commonmark_then_sanitises() -> None:
    html = markdown_to_html(
        "Bring **water** and *snacks*.\n\n- one\n- two\n\n[site](https://a.example)"
    )
    assert "<strong>water</strong>" in html
    assert "<em>snacks</em>" in html
    assert "<ul>\n<li>one</li>" in html
    assert f'<a href="https://a.example" {REL}>site</a>' in html


def test_markdown_raw_html_is_shown_as_text_not_run() -> None:
    html = markdown_to_html('<script>alert(1)</script> <img src=x onerror="alert(1)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_markdown_javascript_link_is_not_a_link() -> None:
    html = markdown_to_html("[x](javascript:alert(1)) <javascript:alert(1)>")
    assert "href" not in html


def test_markdown_does_not_linkify_bare_urls() -> None:
    assert "<a" not in markdown_to_html("see https://a.example/page")


def test_markdown_headings_become_bold_paragraphs_and_images_become_links() -> None:
    html = markdown_to_html("# Meeting\n\n![the flyer](https://a.example/f.png)")
    assert "<p><strong>Meeting</strong></p>" in html
    assert f'<a href="https://a.example/f.png" {REL}>the flyer</a>' in html
    assert "<img" not in html


def test_html_to_text_keeps_paragraphs_breaks_and_items() -> None:
    text = html_to_text(
        "<h2>Title</h2><p>Tom &amp; Jerry&nbsp;say <a href='https://x.example'>hi</a><br>again</p>"
        "<ul><li>one</li><li>two</li></ul><p>&lt;b&gt; is text</p>"
    )
    assert text == "Title\n\nTom & Jerry say hi\nagain\n\n- one\n- two\n\n<b> is text"


def test_html_to_text_drops_scripts_and_collapses_source_whitespace() -> None:
    assert html_to_text("a\n   b<script>alert(1)</script><style>x</style>\tc") == "a b c"
    assert html_to_text("") == ""


ADVERSARIAL = {
    "open brackets": "[" * 50_000,
    "unclosed links": "[a](" * 20_000,
    "emphasis runs": "*_" * 25_000,
    "less-thans": "<" * 50_000,
    "unclosed tags": "<a " * 20_000,
    "nested quotes": "> " * 20_000 + "x",
    "entities": "&#" * 25_000,
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_adversarial_input_finishes(text: str) -> None:
    """Pathological input (a ReDoS / quadratic-parse probe) is handled in linear time.

    The timeout is a guard against hangs, not a benchmark.
    """
    for output in (markdown_to_html(text), sanitize_html(text), html_to_text(text)):
        assert isinstance(output, str)
        assert "<script" not in output


def test_lone_surrogates_do_not_crash_the_sanitiser() -> None:
    assert sanitize_html("<p>a\ud800b</p>") == "<p>a?b</p>"
    assert html_to_text("a\udfffb") == "a?b"
    assert markdown_to_html("a\ud800b") == "<p>a?b</p>\n"
