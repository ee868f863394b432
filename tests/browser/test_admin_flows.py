"""The admin UI and the public site in headless Chromium, against real nodes:
posting, editing and cancelling; following another node from the UI; blocking;
CSRF; roles. Screenshots of the main pages are kept as test artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from node.users import create_user
from tests.browser.conftest import screenshot
from tests.e2e.conftest import NodeFactory
from tests.support.admin_login import first_admin_login, log_in
from tests.support.keys import CHEAP_HASHER
from tests.support.nodes import Node

DAY = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")


async def reload_until(page: Page, url: str, text: str, attempts: int = 40) -> None:
    """Federation is asynchronous: reload ``url`` until ``text`` shows (about 20 s)."""
    for _ in range(attempts):
        await page.goto(url)
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(500)
    await expect(page.get_by_text(text).first).to_be_visible()


async def post_event(page: Page, node: Node, title: str) -> None:
    await page.goto(f"{node.base_url}/admin/events/new")
    await page.locator("#title").fill(title)
    await page.locator("#start").fill(f"{DAY}T19:00")
    await page.locator("#end").fill(f"{DAY}T21:00")
    await page.locator("#location").fill("Community Hall")
    await page.locator("#address").fill("1 High Street")
    await page.locator("#tags").fill("housing")
    await page.locator("#description").fill("Bring *neighbours*.")
    await page.get_by_role("button", name="Publish event").click()
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()


async def test_posting_editing_and_cancelling_from_the_forms_shows_on_public_pages(
    start_node: NodeFactory, page: Page
) -> None:
    node = await start_node()
    await first_admin_login(page, node)
    await screenshot(page, "admin-dashboard-empty")

    # a mistake is shown beside the field and nothing is saved
    await page.goto(f"{node.base_url}/admin/events/new")
    await page.locator("#title").fill("Backwards")
    await page.locator("#start").fill(f"{DAY}T21:00")
    await page.locator("#end").fill(f"{DAY}T19:00")
    await page.get_by_role("button", name="Publish event").click()
    await expect(page.locator("#end-error")).to_contain_text("after the start")
    await screenshot(page, "admin-event-form-error")

    await post_event(page, node, "Tenants' assembly")
    await page.goto(f"{node.base_url}/admin/callouts/new")
    await page.locator("#title").fill("Eviction at 7am")
    await page.locator("#needed").fill("People at the door")
    await page.locator("#people").fill("20")
    await page.locator("#until").fill(f"{DAY}T09:00")
    await page.get_by_label("Urgent").check()
    await page.locator("#address").fill("5 Low Road")
    await page.locator("#contact").fill("Signal group")
    await screenshot(page, "admin-callout-form")
    await page.get_by_role("button", name="Publish callout").click()
    await expect(page.get_by_role("heading", name="Callouts")).to_be_visible()

    await page.goto(f"{node.base_url}/")
    await expect(page.get_by_text("Eviction at 7am")).to_be_visible()
    await expect(page.get_by_text("Tenants' assembly")).to_be_visible()
    await screenshot(page, "home-with-content")
    await page.get_by_role("link", name="Tenants' assembly").first.click()
    await expect(page.get_by_role("heading", name="Tenants' assembly")).to_be_visible()
    await screenshot(page, "event-page")
    await page.goto(f"{node.base_url}/callouts/1")
    await expect(page.get_by_role("heading", name="Eviction at 7am")).to_be_visible()
    await screenshot(page, "callout-page")

    await page.goto(f"{node.base_url}/admin/events/1/edit")
    await page.locator("#title").fill("Tenants' assembly (new room)")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()
    await page.goto(f"{node.base_url}/admin/events/1/cancel")
    await page.locator("form button.danger").click()
    await expect(page.get_by_role("heading", name="Events")).to_be_visible()
    await page.goto(f"{node.base_url}/events/1")
    await expect(page.get_by_role("heading", name="Tenants' assembly (new room)")).to_be_visible()
    await expect(page.get_by_text("Cancelled", exact=False).first).to_be_visible()
    await screenshot(page, "event-cancelled")


async def test_following_a_node_from_the_ui_brings_its_events_into_the_calendar(
    start_node: NodeFactory, page: Page
) -> None:
    ours, theirs = await start_node("haringey"), await start_node("hackney")
    await first_admin_login(page, theirs)
    await post_event(page, theirs, "Hackney renters' social")
    await page.context.clear_cookies()

    await first_admin_login(page, ours)
    await page.goto(f"{ours.base_url}/admin/federation")
    await page.get_by_label("Handle or actor address").fill(f"@hackney@{theirs.settings.host}")
    await page.get_by_role("button", name="Look it up").click()
    await expect(page.get_by_role("heading", name="Follow this node?")).to_be_visible()
    await screenshot(page, "admin-follow-confirm")
    await page.get_by_role("button", name=f"Follow @hackney@{theirs.settings.host}").click()
    await page.goto(f"{ours.base_url}/admin/federation")
    await screenshot(page, "admin-federation")

    # the follow is accepted; the next event the other node posts reaches our calendar
    await reload_until(page, f"{ours.base_url}/admin/federation", "accepted")
    await page.context.clear_cookies()
    await log_in(page, theirs)
    await post_event(page, theirs, "Hackney assembly")
    await reload_until(page, f"{ours.base_url}/calendar", "Hackney assembly")
    await screenshot(page, "federation-calendar")


async def test_blocking_a_domain_from_the_ui(start_node: NodeFactory, page: Page) -> None:
    node = await start_node()
    await first_admin_login(page, node)
    await page.goto(f"{node.base_url}/admin/federation/blocks")
    await page.get_by_label("Domain", exact=True).fill("hostile.example")
    await page.get_by_label("Reason (optional, only admins see it)").fill("harassment")
    await page.get_by_role("button", name="Block", exact=True).click()
    await expect(page.get_by_role("heading", name="Blocked servers (1)")).to_be_visible()
    await expect(page.get_by_role("button", name="Unblock hostile.example")).to_be_visible()
    await screenshot(page, "admin-blocks")
    assert await node.ctx.blocks.is_blocked("hostile.example")


async def test_a_forged_post_without_the_csrf_token_is_refused(
    start_node: NodeFactory, page: Page
) -> None:
    node = await start_node()
    await first_admin_login(page, node)
    status = await page.evaluate(
        """async (url) => {
            const body = new URLSearchParams({title: "Forged", needed: "x"});
            const response = await fetch(url, {method: "POST", body, credentials: "same-origin"});
            return response.status;
        }""",
        f"{node.base_url}/admin/callouts/new",
    )
    assert status == 403


async def test_an_editor_is_refused_on_admin_only_pages(
    start_node: NodeFactory, page: Page
) -> None:
    node = await start_node()
    async with node.ctx.sessions() as session, session.begin():
        await create_user(
            session, "rosa", "editor", "editor password 1", must_change=False, hasher=CHEAP_HASHER
        )
    await log_in(page, node, "rosa", "editor password 1")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.get_by_role("link", name="Federation")).to_have_count(0)
    for path in ("/admin/federation", "/admin/users", "/admin/federation/blocks", "/admin/profile"):
        response = await page.goto(f"{node.base_url}{path}")
        assert response is not None and response.status == 403, path
    await screenshot(page, "admin-editor-refused")
    await page.goto(f"{node.base_url}/admin/events/new")
    await expect(page.get_by_role("heading", name="New event")).to_be_visible()
