"""The citizens' page and the dashboard in a real browser (the distribution's Chromium, driven
by Playwright) against bedsvc served by granian in a subprocess, as in production."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, Request, WebSocket, expect

from tests.support import Factory, bearer, report, ward
from tests.support.browser import (
    DESKTOP,
    PHONE,
    new_page,
    screenshot,
    seed,
)

# Its tests share the module's server: under pytest-xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("pages")


def count(page: Page, code: str) -> Any:
    return page.locator(f'li[data-code="{code}"] .count-number')


@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_citizen_page_updates_live_without_reload(
    server: str, browser: Browser, factory: Factory, transport: str
) -> None:
    keys = await seed(factory, server)
    page = await new_page(browser, PHONE)
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    # No polling to fall back on within the test's time: the update must come live, over the
    # WebSocket found through GET /api/v1/live (or over the event stream).
    await page.goto(f"{server}/?transport={transport}")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")

    # The general wards' free beds (KL3 3); the ICU's 2 are listed apart, never added.
    await expect(count(page, "3274011")).to_have_text("3")
    await expect(page.locator("li.hospital")).to_have_count(3)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Cari tempat tidur kosong")
    fresh = page.locator('li[data-code="3274011"]')
    await expect(fresh.locator(".updated-text")).to_have_text(re.compile(r"^diperbarui "))
    await expect(fresh.locator(".badge-stale")).to_have_count(0)
    stale = page.locator('li[data-code="3274033"]')
    await expect(stale.locator(".badge-stale")).to_have_text("Data lama")
    await expect(stale.locator(".updated-text")).to_have_text("diperbarui 2 jam lalu")
    call = fresh.get_by_role("link", name=re.compile("Telepon IGD RSUD Gunung Jati"))
    assert await call.get_attribute("href") == "tel:0231206330"
    if transport == "ws":
        await page.screenshot(path=screenshot("citizen.png"), full_page=True)

    await page.evaluate("window.__sameDocument = true")
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.post(
            "/api/v1/hospitals/3274011/occupancy",
            json=report(ward("MAWAR", "KL3", 20, 9), at=datetime.now(UTC)),
            headers=bearer(keys["3274011"]),
        )
        assert response.status_code == 200

    await expect(count(page, "3274011")).to_have_text("9")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    # Over the transport asked for: the WebSocket the HTTP origin pointed to, or none.
    live = (await (await page.request.get(f"{server}/api/v1/live")).json())["websocket"]
    opened = [socket.url for socket in sockets if not socket.is_closed()]
    assert opened == ([f"{live}"] if transport == "ws" else [])
    assert await page.evaluate("window.__sameDocument") is True
    assert page.errors == []  # type: ignore[attr-defined]


async def test_need_chip_shows_that_need_only(
    server: str, browser: Browser, factory: Factory
) -> None:
    await seed(factory, server)
    page = await new_page(browser, PHONE)
    await page.goto(f"{server}/?poll=0.5")
    await expect(page.locator("li.hospital")).to_have_count(3)

    await page.get_by_role("button", name="ICU", exact=True).click()

    # RS Mitra has no ICU; RS Pelabuhan's is full, so it comes last.
    await expect(page.locator("li.hospital")).to_have_count(2)
    await expect(page.locator("li.hospital").first).to_have_attribute("data-code", "3274011")
    await expect(count(page, "3274011")).to_have_text("2")
    await expect(page.locator('li[data-code="3274011"] .count-capacity')).to_have_text("dari 6")
    full = page.locator('li[data-code="3274022"] .count')
    await expect(full).to_contain_text("Penuh")
    await expect(full.locator(".count-number")).to_have_text("0")

    # The keyboard alone works the filters: Enter opens them, Space toggles a checkbox.
    await page.get_by_text("Filter", exact=True).focus()
    await page.keyboard.press("Enter")
    await page.get_by_label("Hanya yang masih ada tempat kosong").focus()
    await page.keyboard.press("Space")

    await expect(page.locator("li.hospital")).to_have_count(1)
    await expect(page.locator("li.hospital")).to_have_attribute("data-code", "3274011")


async def test_nearest_first_and_english(server: str, browser: Browser, factory: Factory) -> None:
    await seed(factory, server)
    near_mitra = {"latitude": -6.7470, "longitude": 108.5200}
    page = await new_page(browser, PHONE, geolocation=near_mitra, permissions=["geolocation"])
    await page.goto(f"{server}/?poll=0.5")
    await expect(page.locator("li.hospital")).to_have_count(3)

    await page.get_by_role("button", name="Urutkan dari yang terdekat").click()

    codes = page.locator("li.hospital")
    await expect(codes.first).to_have_attribute("data-code", "3274033")
    await expect(codes.nth(1)).to_have_attribute("data-code", "3274011")
    await expect(codes.first.locator(".hospital-meta")).to_contain_text("km")

    await page.get_by_role("button", name="EN").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Find a free hospital bed")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("button", name="All", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(codes.first.locator(".badge-stale")).to_have_text("Outdated")
    await page.screenshot(path=screenshot("citizen-en.png"), full_page=True)


async def test_dashboard_shows_summary_and_stale_hospital(
    server: str, browser: Browser, factory: Factory
) -> None:
    await seed(factory, server)
    monitor_key = await factory.key("monitor")
    page = await new_page(browser, DESKTOP)
    await page.goto(f"{server}/dashboard")

    await page.get_by_label("Kunci API monitor").fill("bsk_wrong")
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("alert")).to_contain_text("Kunci ditolak")

    await page.get_by_label("Kunci API monitor").fill(monitor_key)
    await page.get_by_role("button", name="Masuk").click()

    # 20 + 6 + 12 + 4 + 10 beds; 3 + 2 + 5 + 0 + 4 free.
    await expect(page.locator("#kpi-capacity")).to_have_text("52")
    await expect(page.locator("#kpi-available")).to_have_text("14")
    await expect(page.locator("#kpi-bor")).to_have_text("73,1%")
    stale = page.locator("#stale-list li")
    await expect(stale).to_have_count(1)
    await expect(stale).to_contain_text("RS Mitra Plumbon")
    await expect(stale).to_contain_text("2 jam lalu")
    await expect(page.locator('#classes-table tr[data-class="ICU"]')).to_contain_text("80,0%")
    await expect(page.locator("#chart svg.chart")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('bedsvc.monitorKey')") == monitor_key
    await page.screenshot(path=screenshot("dashboard.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_pages_and_files_are_served_by_bedsvc(
    client: AsyncTestClient[Litestar],
) -> None:
    page = await client.get("/")
    dashboard = await client.get("/dashboard")
    map_page = await client.get("/peta")

    for response in (page, dashboard, map_page):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
        assert assets
        # No third-party host anywhere: the pages work on a network without internet.
        assert not re.search(r'(?:src|href)="(?:https?:)?//', response.text)
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert "max-age=31536000" in served.headers["cache-control"], asset
            assert "immutable" in served.headers["cache-control"], asset


# A crafted link cannot turn the citizens' page into a load generator.
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
    # The page's timers run on a clock the test moves on, rather than on waited-out seconds.
    await page.clock.install()

    await page.goto(f"{server}/?transport=poll&poll=0.2")
    await expect(page.locator("li.hospital")).to_have_count(3)
    await page.clock.run_for(2500)

    # At 0.2 s that would be a dozen requests; clamped to 5 s, the first load and no more.
    assert 1 <= len(polls) <= 2, polls
    assert page.errors == []  # type: ignore[attr-defined]
