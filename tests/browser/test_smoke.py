"""The public front page and the first admin login, in a real browser."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import screenshot
from tests.e2e.conftest import NodeFactory


async def test_first_login_with_the_one_time_password_and_password_change(
    start_node: NodeFactory, page: Page
) -> None:
    node = await start_node()
    await page.goto(f"{node.base_url}/")
    await screenshot(page, "home")
    await page.goto(f"{node.base_url}/admin")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await page.get_by_label("Username").fill("admin")
    assert node.admin_password
    await page.get_by_label("Password").fill(node.admin_password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    await screenshot(page, "admin-first-login")
    await page.get_by_label("Current password").fill(node.admin_password)
    await page.get_by_label("New password (at least 10 characters)").fill("correct horse battery")
    await page.get_by_label("New password again").fill("correct horse battery")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await screenshot(page, "admin-dashboard")
