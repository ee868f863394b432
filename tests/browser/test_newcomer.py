"""The newcomer's first hour on a phone (360 px wide), in headless Chromium against
a fresh node: first login with the printed one-time password, the forced password
change, the dashboard's first steps (naming the network ticks one), two-factor
setup from the QR code's secret with recovery codes (then a login with one of
them), a callout posted, and its public page, read at last in Welsh through the
language switcher. No page scrolls sideways; screenshots are kept as test artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import NodeFactory
from tests.support.nodes import Node

WIDTH = 360
PASSWORD = "correct horse battery"
UNTIL = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT09:00")


async def fits(page: Page, name: str) -> None:
    """Nothing overflows sideways at 360 px; keep a screenshot named ``name``."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width} px wide"
    await screenshot(page, f"newcomer-{name}")


async def log_in(page: Page, node: Node, password: str) -> None:
    await page.goto(f"{node.base_url}/admin/login")
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def first_login(page: Page, node: Node) -> None:
    assert node.admin_password, "the node printed no one-time password"
    await log_in(page, node, node.admin_password)
    await expect(page.get_by_label("Current password")).to_be_visible()  # forced change
    await fits(page, "1-forced-password-change")
    await page.get_by_label("Current password").fill(node.admin_password)
    await page.get_by_label("New password (at least 10 characters)").fill(PASSWORD)
    await page.get_by_label("New password again").fill(PASSWORD)
    await page.get_by_role("button", name="Change password").click()


async def checklist(page: Page) -> None:
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.get_by_text("Your network")).to_be_visible()
    steps = page.locator("ul.checklist li")
    await expect(steps).to_have_count(3)
    await expect(page.get_by_role("link", name="Post a first event")).to_be_visible()
    await fits(page, "2-dashboard-first-steps")


async def name_the_network(page: Page, node: Node) -> None:
    await page.get_by_role("link", name="Set the network's name and description").click()
    await expect(page.get_by_label("Name of the network")).to_have_value("")
    await page.get_by_label("Name of the network").fill("Haringey Housing Solidarity Network")
    await page.get_by_label("About the network").fill("Tenants helping tenants.")
    await fits(page, "2b-profile-checkboxes")
    await page.get_by_role("button", name="Save the profile").click()
    await page.goto(f"{node.base_url}/admin")
    await expect(page.locator("ul.checklist li.is-done")).to_have_count(1)
    await expect(page.locator("p.lead")).to_have_text("Haringey Housing Solidarity Network")


async def two_factor(page: Page, node: Node) -> list[str]:
    """Turn two-factor on from the page's secret; the recovery codes it shows."""
    await page.goto(f"{node.base_url}/admin/totp")
    await expect(page.locator("svg.qr")).to_be_visible()
    secret = (await page.locator("code.secret").inner_text()).strip()
    await fits(page, "3-two-factor-qr")
    await page.get_by_label("Your password").fill(PASSWORD)
    await page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on two-factor login").click()
    await expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = [c.strip() for c in await page.locator("ol.codes code").all_inner_texts()]
    assert len(codes) == 10
    await fits(page, "4-recovery-codes")
    return codes


async def recovery_login(page: Page, node: Node, code: str) -> None:
    await page.get_by_role("button", name="Log out admin").click()
    await log_in(page, node, PASSWORD)
    await page.get_by_label("Six-digit code from your authenticator app").fill(code)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_text("You have 9 recovery codes left")).to_be_visible()
    await fits(page, "5-recovery-code-used")
    await page.get_by_role("link", name="Continue").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


async def post_callout(page: Page, node: Node) -> None:
    await page.goto(f"{node.base_url}/admin/callouts/new")
    await page.locator("#title").fill("Eviction at 7am, 12 Elm Road")
    await page.locator("#needed").fill("People at the door before the bailiffs arrive")
    await page.locator("#people").fill("20")
    await page.locator("#until").fill(UNTIL)
    await page.get_by_label("Urgent").check()
    await page.locator("#address").fill("12 Elm Road")
    await fits(page, "6-callout-form")
    await page.get_by_role("button", name="Publish callout").click()
    await expect(page.get_by_role("heading", name="Callouts")).to_be_visible()


async def read_in_welsh(page: Page, node: Node) -> None:
    """The public callout page, switched to Cymraeg with the footer's link (no script)."""
    await page.goto(f"{node.base_url}/callouts/1")
    switcher = page.get_by_role("navigation", name="Language")
    await switcher.get_by_role("link", name="Cymraeg").click()
    await expect(page.locator("html")).to_have_attribute("lang", "cy")
    await expect(page.get_by_role("heading", name="Eviction at 7am")).to_be_visible()
    await expect(page.get_by_role("link", name="Ychwanegu at y calendr")).to_be_visible()
    await expect(page.locator("dt").first).to_have_text("Angen")
    await page.goto(f"{node.base_url}/calendar")  # the choice is remembered
    await expect(page.get_by_role("heading", name="Calendr", exact=True)).to_be_visible()
    await fits(page, "9-welsh-public-page")


async def test_the_newcomer_path_on_a_phone(start_node: NodeFactory, browser: Browser) -> None:
    node = await start_node()
    context = await browser.new_context(viewport={"width": WIDTH, "height": 780})
    page = await context.new_page()
    try:
        await first_login(page, node)
        await checklist(page)
        await name_the_network(page, node)
        codes = await two_factor(page, node)
        await recovery_login(page, node, codes[0])
        await post_callout(page, node)
        await page.goto(f"{node.base_url}/callouts/1")
        await expect(page.get_by_role("heading", name="Eviction at 7am")).to_be_visible()
        await expect(page.get_by_role("link", name="Add to calendar")).to_have_attribute(
            "href", "/callouts/1.ics"
        )
        await fits(page, "7-public-callout")
        await page.goto(f"{node.base_url}/admin/audit")
        await expect(page.get_by_text("admin logged in with a recovery code")).to_be_visible()
        await fits(page, "8-audit-log")
        await read_in_welsh(page, node)
    finally:
        await context.close()
