"""Logging in to the admin UI in a browser page (Playwright), including the first
admin's forced password change."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support.nodes import Node

PASSWORD = "correct horse battery"


async def log_in(page: Page, node: Node, username: str = "admin", password: str = PASSWORD) -> None:
    await page.goto(f"{node.base_url}/admin/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


async def first_admin_login(page: Page, node: Node) -> None:
    """The first admin logs in with the generated password and sets ``PASSWORD``."""
    assert node.admin_password
    await log_in(page, node, password=node.admin_password)
    await page.get_by_label("Current password").fill(node.admin_password)
    await page.get_by_label("New password (at least 10 characters)").fill(PASSWORD)
    await page.get_by_label("New password again").fill(PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
