"""An editor on a 360 px phone: posts an urgent callout from the quick form (one
submit with several mistakes shows them all at once), moves it through its states
from the admin buttons, and another to a false alarm. The public banner of each
state is screenshotted, and no page scrolls sideways at 360 px."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import NodeFactory
from tests.support.admin_login import first_admin_login
from tests.support.nodes import Node

WIDTH = 360
DAY = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": WIDTH, "height": 740})
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width} px wide"


async def fill_quick(page: Page, title: str, *, unverified: bool) -> None:
    await page.locator("#title").fill(title)
    await page.locator("#needed").fill("People at the door")
    await page.locator("#until").fill(f"{DAY}T09:00")
    await page.locator("#area").fill("Tottenham, N15")
    await page.locator("#private_address").fill("12 High Road")
    await page.locator("#people").fill("3")
    if unverified:
        await page.get_by_label("Unverified — still being checked").check()
    await page.get_by_role("button", name="Send the callout").click()
    await expect(page.get_by_role("heading", name="Callouts")).to_be_visible()


async def banner(page: Page, node: Node, callout_id: int, word: str, name: str) -> None:
    """The public page shows ``word`` in its banner, never the private address."""
    await page.goto(f"{node.base_url}/callouts/{callout_id}")
    await expect(page.locator(".banner strong")).to_have_text(word)
    await expect(page.locator(".banner-count")).to_have_text("0 of 3 confirmed")
    assert "12 High Road" not in await page.content()
    await fits(page)
    await screenshot(page, f"callout-banner-{name}")


async def press(page: Page, node: Node, callout_id: int, label: str) -> None:
    """Press a state button on the callouts list; a final move asks first."""
    await page.goto(f"{node.base_url}/admin/callouts")
    item = page.locator(f"#callout-{callout_id} .state-actions")
    await item.get_by_role("button", name=label).or_(item.get_by_role("link", name=label)).click()
    if "/admin/callouts/" in page.url and await page.locator("form button.danger").count():
        await fits(page)
        await page.locator("form button.danger").click()
    await expect(page.get_by_role("heading", name="Callouts")).to_be_visible()


async def test_an_urgent_callout_from_the_quick_form_through_every_state(
    start_node: NodeFactory, phone: Page
) -> None:
    node = await start_node()
    page = phone
    await first_admin_login(page, node)
    await page.get_by_role("link", name="Quick callout").click()
    await expect(page.get_by_role("heading", name="Quick callout")).to_be_visible()
    await expect(page.get_by_label("Urgent")).to_be_checked()
    await fits(page)
    await screenshot(page, "admin-callout-quick")

    # three mistakes at once: blank title and needs (spaces pass the browser), a past until
    await page.locator("#title").fill("   ")
    await page.locator("#needed").fill("  ")
    await page.locator("#until").fill("2001-01-01T09:00")
    await page.get_by_role("button", name="Send the callout").click()
    await expect(page.locator("#title-error")).to_have_text("Title is required.")
    await expect(page.locator("#needed-error")).to_have_text("What is needed is required.")
    await expect(page.locator("#until-error")).to_have_text("Until is in the past.")
    await expect(page.locator("div.error li")).to_have_count(3)
    await fits(page)
    await screenshot(page, "admin-callout-quick-errors")

    await fill_quick(page, "Eviction at 7am", unverified=True)
    await fits(page)
    await screenshot(page, "admin-callouts-unverified")
    await banner(page, node, 1, "UNVERIFIED — being checked", "unverified")
    await press(page, node, 1, "Confirm: GO")
    await banner(page, node, 1, "GO", "go")
    await press(page, node, 1, "Enough people")
    await banner(page, node, 1, "ENOUGH PEOPLE", "enough")
    await press(page, node, 1, "Reopen: more people needed")
    await press(page, node, 1, "Close: all clear")
    await banner(page, node, 1, "ALL CLEAR", "all-clear")
    await press(page, node, 1, "Closed by mistake? Reopen")
    await expect(page.get_by_role("status")).to_contain_text("reopened")
    await press(page, node, 1, "Cancel")
    await banner(page, node, 1, "CANCELLED", "cancelled")
    await page.goto(f"{node.base_url}/admin/callouts/1/responses")
    await expect(page.get_by_role("heading", name="Responders")).to_be_visible()
    await fits(page)

    await page.goto(f"{node.base_url}/admin/callouts/quick")
    await fill_quick(page, "Raid reported on Elm Road", unverified=True)
    await press(page, node, 2, "False alarm")
    await banner(page, node, 2, "FALSE ALARM", "false-alarm")
    await page.goto(f"{node.base_url}/callouts")
    await fits(page)
