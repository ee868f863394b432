"""The public callout page shows its state as a banner in words and colour with
"N of M confirmed", the lists a smaller badge, never the private address; the
banner colours meet WCAG AA contrast (node/static/site.css)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from node.content.callout_states import apply_action
from node.content.lookup import find_local
from node.content.models import Callout
from tests.support.colours import contrast
from tests.support.nodes import Node
from tests.support.pages import STATIC, get_page, make_callout, urlsplit_path

BANNER = r'<div class="status banner status-([\w-]+)" role="status">(.*?)</div>'
BANNERS = [  # the moves from unverified, and what the page then says
    ((), "unverified", "UNVERIFIED — being checked"),
    (("confirm",), "open", "GO"),
    (("confirm", "enough"), "enough", "ENOUGH PEOPLE"),
    (("confirm", "close"), "met", "ALL CLEAR"),
    (("false-alarm",), "false-alarm", "FALSE ALARM"),
    (("confirm", "cancel"), "cancelled", "CANCELLED"),
]


async def moved(node: Node, moves: tuple[str, ...]) -> Callout:
    callout = await make_callout(
        node, address="", area="Tottenham, N15", private_address="12 High Road", people="3"
    )
    async with node.ctx.sessions() as session, session.begin():
        mine = await find_local(session, Callout, callout.uri)
        mine.status = "unverified"
        for action in moves:
            await apply_action(node.ctx, session, mine, action, now=datetime.now(UTC))
    return callout


async def test_each_state_is_a_banner_in_words_with_the_count_and_never_the_address(
    node: Node,
) -> None:
    for moves, state, word in BANNERS:
        callout = await moved(node, moves)
        page = (await get_page(node, urlsplit_path(callout.uri))).text
        banner = re.search(BANNER, page, re.S)
        assert banner, state
        assert banner.group(1) == state
        assert f"<strong>{word}</strong>" in banner.group(2)
        assert "0 of 3 confirmed" in banner.group(2)
        assert "12 High Road" not in page and "Tottenham, N15" in page
        answering = "Answer from your fediverse account" in page
        assert answering == (state in ("unverified", "open", "enough")), state


async def test_the_callout_list_shows_a_state_badge(node: Node) -> None:
    await moved(node, ())
    await moved(node, ("confirm", "enough"))
    page = (await get_page(node, "/callouts")).text
    assert '<p class="badge state-badge status-unverified">UNVERIFIED — being checked</p>' in page
    assert '<p class="badge state-badge status-enough">ENOUGH PEOPLE</p>' in page
    assert "3 people needed, 0 confirmed" in page and "12 High Road" not in page


def test_banner_colours_meet_wcag_aa_contrast() -> None:
    css = (STATIC / "site.css").read_text()
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6});", css))
    pairs = [
        ("warn-fg", "warn-bg"),  # unverified
        ("on-accent", "go-bg"),
        ("on-accent", "enough-bg"),
        ("ok", "clear-bg"),  # all clear
        ("on-accent", "false-bg"),
        ("error", "bg"),  # cancelled
        ("enough-bg", "bg"),  # the enough badge in the admin list
    ]
    for fg, bg in pairs:
        assert contrast(colours[fg], colours[bg]) >= 4.5, (fg, bg)
    for state in ("unverified", "open", "enough", "met", "false-alarm", "cancelled"):
        assert re.search(rf"\.status-{state} \{{[^}}]*background:", css), state
