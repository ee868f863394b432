"""The alerts page in Chromium at phone width: the manifest parses, the service
worker registers, and a push message delivered through the DevTools protocol
(``ServiceWorker.deliverPushMessage``) shows a notification with the callout's
title, as ``static/sw.js`` draws it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from playwright.async_api import Browser

from tests.browser.conftest import screenshot
from tests.e2e.conftest import NodeFactory

TITLE = "New callout: Eviction at 7am"


async def test_alerts_page_registers_the_worker_and_shows_a_pushed_alert(
    start_node: NodeFactory, browser: Browser
) -> None:
    node = await start_node("haringey", worker=False)
    context = await browser.new_context(viewport={"width": 360, "height": 780})
    try:
        await context.grant_permissions(["notifications"], origin=node.base_url)
        page = await context.new_page()
        await page.goto(f"{node.base_url}/alerts")
        href = await page.get_attribute('link[rel="manifest"]', "href")
        assert href == "/manifest.webmanifest"
        manifest = json.loads(
            await page.evaluate("fetch('/manifest.webmanifest').then(r => r.text())")
        )
        # a network with no chosen name goes by its handle; its short name is the username
        assert manifest["name"] == f"@haringey@{node.settings.host}"
        assert manifest["short_name"] == "haringey" and manifest["start_url"] == "/"
        assert manifest["icons"] and manifest["display"] == "standalone"
        scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
        assert scope == f"{node.base_url}/"
        assert await page.is_visible("#push-form")  # the script replaced the no-JS notice
        await screenshot(page, "alerts-360")

        cdp = await context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        await cdp.send("ServiceWorker.enable")
        async with asyncio.timeout(10):
            while not registrations:
                await asyncio.sleep(0.05)
        payload = {"title": TITLE, "body": "People at the door", "url": "/", "tag": "callout-1"}
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": node.base_url,
                "registrationId": registrations[0]["registrationId"],
                "data": json.dumps(payload),
            },
        )
        shown: list[str] = []
        async with asyncio.timeout(10):
            while TITLE not in shown:
                shown = await page.evaluate(
                    "navigator.serviceWorker.ready"
                    ".then(r => r.getNotifications())"
                    ".then(list => list.map(n => n.title))"
                )
                await asyncio.sleep(0.1)
    finally:
        await context.close()
