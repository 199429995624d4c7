"""The citizens' page cannot be turned into a load generator by a crafted link."""

from __future__ import annotations

import asyncio

from playwright.async_api import Browser, Request, expect

from tests.support import Factory
from tests.support.browser import PHONE, new_page, seed


async def test_a_crafted_poll_interval_is_clamped(
    server: str, browser: Browser, factory: Factory
) -> None:
    await seed(factory, server)
    page = await new_page(browser, PHONE)
    polls: list[str] = []

    def count_polls(request: Request) -> None:
        if "/api/v1/availability" in request.url:
            polls.append(request.url)

    page.on("request", count_polls)

    await page.goto(f"{server}/?transport=poll&poll=0.2")
    await expect(page.locator("li.hospital")).to_have_count(3)
    await asyncio.sleep(2.5)

    # At 0.2 s that would be a dozen requests; clamped to 5 s, the first load and no more.
    assert 1 <= len(polls) <= 2, polls
    assert page.errors == []  # type: ignore[attr-defined]
