"""`/schema` loads nothing from another host: Scalar is served from inside the package, under
the pages' Content-Security-Policy, and the reference draws offline."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, Request, Route, expect

from tests.support.browser import screenshot
from tests.support.live import StartServer


async def test_the_api_reference_is_served_from_inside_the_package(
    start_server: StartServer, browser: Browser
) -> None:
    server = await start_server()
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await http.get("/schema")
        pages_policy = (await http.get("/dashboard")).headers["content-security-policy"]
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == pages_policy
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert references, page.text
    assert all(urlsplit(url).netloc == "" for url in references), references
    assert "<script>" not in page.text  # nothing inline: the policy allows none

    elsewhere: list[str] = []

    async def offline(route: Route, request: Request) -> None:
        if urlsplit(request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            elsewhere.append(request.url)
            await route.abort()

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.route("**/*", offline)
    tab = await context.new_page()
    violations: list[str] = []
    tab.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    await tab.goto(f"{server.http}/schema")
    await tab.get_by_text("operators", exact=True).first.click(timeout=20_000)
    await expect(tab.get_by_text("Create or update a hospital").first).to_be_visible()
    await tab.screenshot(path=screenshot("schema.png"))
    await context.close()

    assert elsewhere == []
    # Scalar also tries inline styles; the policy refuses them (the linked style sheet draws
    # the page), and nothing else.
    assert all("Applying inline style" in v for v in violations), violations
