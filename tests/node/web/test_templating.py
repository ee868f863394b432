"""What every public page gets from node/web/templating.py and its static assets:
HTML that is well-formed and free of inline script and style, versioned assets
cached for a year, and stylesheet colours that meet WCAG AA contrast.
"""

from __future__ import annotations

import gzip
import re

from tests.support.colours import contrast
from tests.support.nodes import Node
from tests.support.pages import (
    STATIC,
    followed_node,
    get_page,
    make_callout,
    make_event,
    remote_event,
    urlsplit_path,
)

# -- every page -------------------------------------------------------------------------------


async def test_every_public_page_is_well_formed_without_inline_script_or_style(
    node: Node,
) -> None:
    event = await make_event(
        node, title='<script>alert("x")</script> & co', description="<b onclick=x>hi</b>"
    )
    callout = await make_callout(node, title="Bring <i>tea</i>")
    origin = await followed_node(node, "hackney.example", "Hackney <Renters>")
    other = await remote_event(node, origin, "Theirs", tags=["a"])
    paths = [
        "/",
        "/follow",
        "/calendar",
        "/calendar?tag=housing&node=127.0.0.1:8000",
        "/callouts",
        "/tags/housing",
        "/tags/callout",
        urlsplit_path(event.uri),
        urlsplit_path(callout.uri),
        f"/calendar/events/{other.id}",
        "/actors/network",
    ]
    for path in paths:
        page = (await get_page(node, path)).text
        assert "<script>alert" not in page
        assert "<b onclick" not in page
    page = (await get_page(node, urlsplit_path(event.uri))).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page


async def test_static_assets_are_cached_for_a_year_when_versioned(node: Node) -> None:
    home = (await get_page(node, "/")).text
    css = re.search(r'href="(/static/site\.css\?v=\w+)"', home)
    assert css is not None
    response = await node.client.get(css.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "etag" in response.headers
    plain = await node.client.get("/static/copy.js")
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "public, max-age=3600"
    assert "navigator.clipboard" in plain.text
    assert (await node.client.get("/static/nothing.css")).status_code == 404


def test_stylesheet_colour_pairs_meet_wcag_aa_contrast() -> None:
    css = (STATIC / "site.css").read_text()
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    pairs = [
        ("fg", "bg"),
        ("accent", "bg"),
        ("muted", "bg"),
        ("on-accent", "accent"),
        ("warn-fg", "warn-bg"),
        ("error", "bg"),
        ("ok", "bg"),
        ("fg", "panel"),
        ("muted", "panel"),
        ("accent", "panel"),
        ("on-accent", "error"),
    ]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    assert contrast(colours["focus"], colours["bg"]) >= 3  # non-text contrast
    # small enough for a cheap phone on a bad connection: what goes over the wire
    assert len(gzip.compress(css.encode())) < 4_500
    assert "@import" not in css and "url(" not in css  # nothing loaded from elsewhere
