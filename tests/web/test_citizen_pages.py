"""A citizen in a hurry, in Chromium: the answer on the first screen of a phone, offline after
one visit, the map with a marker per hospital and no tile server reachable, and the lobby board
at the screen sizes hospitals hang in their lobbies. bedsvc runs as in production (granian in
a subprocess) on real PostgreSQL and Redis; one browser for the module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support import Factory, bearer, report, ward
from tests.support.browser import new_page, screenshot, wait_in_page

PHONE = {"width": 360, "height": 740}
BOARD_SIZES = [(1920, 1080), (1080, 1920), (1366, 768), (1280, 720)]
# Its tests share the module's server: under pytest-xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("citizen_pages")

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Mobile Safari/537.36"
)

# Thirteen hospitals of Kota and Kabupaten Cirebon: (code, name, lat, lon, KL3 free, ICU free).
HOSPITALS = [
    ("3274011", "RSUD Gunung Jati", -6.7196, 108.5567, 3, 2),
    ("3274022", "RS Pelabuhan Cirebon", -6.7105, 108.5671, 5, 0),
    ("3274033", "RS Mitra Plumbon", -6.7459, 108.5213, 4, 1),
    ("3274044", "RS Pertamina Cirebon", -6.7031, 108.5524, 0, 0),
    ("3274055", "RS Putera Bahagia", -6.7341, 108.5481, 7, 3),
    ("3274066", "RS Ciremai", -6.7226, 108.5599, 1, 0),
    ("3274077", "RSIA Sunyaragi", -6.7390, 108.5420, 2, 0),
    ("3274088", "RS Permata Cirebon", -6.7150, 108.5450, 0, 1),
    ("3274099", "RS Hermina Cirebon", -6.7280, 108.5390, 6, 2),
    ("3209011", "RSUD Waled", -6.8890, 108.6920, 9, 0),
    ("3209022", "RSUD Arjawinangun", -6.6470, 108.4100, 2, 1),
    ("3209033", "RS Sumber Hurip", -6.7600, 108.4800, 0, 0),
    ("3209044", "RS Mitra Plered", -6.7050, 108.5050, 3, 0),
]


async def post(base_url: str, code: str, key: str, body: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            f"/api/v1/hospitals/{code}/occupancy", json=body, headers=bearer(key)
        )
        assert response.status_code == 200, response.text


async def seed_thirteen(factory: Factory, base_url: str) -> None:
    now = datetime.now(UTC)
    for code, name, lat, lon, kl3, icu in HOSPITALS:
        await factory.hospital(code, code[:4], name=name, lat=lat, lon=lon, kind="RSUD")
        key = await factory.key(hospital_code=code)
        await post(
            base_url,
            code,
            key,
            report(ward("MAWAR", "KL3", 20, kl3), ward("ICU", "ICU", 6, icu), at=now),
        )


async def names_on_first_screen(page: Page) -> list[str]:
    """Hospital names wholly inside the viewport without scrolling."""
    names: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll('.hospital-name')]
            .filter((n) => { const r = n.getBoundingClientRect();
                             return r.top >= 0 && r.bottom <= innerHeight && r.width > 0; })
            .map((n) => n.textContent)"""
    )
    return names


async def test_first_screen_answers_offline_after_one_visit_and_the_map(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    await seed_thirteen(factory, server)
    page = await new_page(browser, PHONE)
    await page.goto(f"{server}/")
    await expect(page.locator("li.hospital")).to_have_count(13)

    # Two hospitals on the first screen, without a tap; the most free general beds first.
    assert len(await names_on_first_screen(page)) >= 2
    cards = page.locator("li.hospital")
    await expect(cards.first).to_have_attribute("data-code", "3209011")  # KL3: 9 free
    # Unlike classes are never added: RSUD Gunung Jati shows its 3 ward beds, ICU apart.
    gunung_jati = page.locator('li[data-code="3274011"]')
    await expect(gunung_jati.locator(".count-number")).to_have_text("3")
    await expect(gunung_jati.locator('.class-list-special [data-class="ICU"] strong')).to_have_text(
        "2"
    )
    await page.screenshot(path=screenshot("citizen-first-screen.png"))

    # ICU: the most free ICU beds first, and "Kabari saya" on a full ICU.
    await page.get_by_role("button", name="ICU", exact=True).click()
    await expect(cards.first).to_have_attribute("data-code", "3274055")  # ICU: 3 free
    await expect(gunung_jati.locator(".count-number")).to_have_text("2")
    full = page.locator('li[data-code="3274022"]')
    await expect(full.locator(".count-label")).to_have_text("Penuh")
    await expect(
        full.get_by_role(
            "button", name="Kabari saya saat ada tempat kosong di RS Pelabuhan Cirebon"
        )
    ).to_be_visible()
    await expect(gunung_jati.get_by_role("button", name="Kabari saya")).to_have_count(0)
    # Directions on a desktop: a web map's.
    directions = gunung_jati.get_by_role("link", name="Petunjuk arah ke RSUD Gunung Jati")
    assert (await directions.get_attribute("href") or "").startswith("https://")
    await page.get_by_role("button", name="Semua", exact=True).click()

    # After that one visit, a reload without a network still lists them, with their age.
    await wait_in_page(page, "navigator.serviceWorker.controller !== null")
    await wait_in_page(
        page,
        "caches.open('bedsvc-data').then((c) => c.match('/api/v1/availability')).then((r) => !!r)",
    )
    await page.context.set_offline(True)
    await page.reload()
    await expect(page.locator("li.hospital")).to_have_count(13)
    await expect(page.locator("#offline-notice")).to_contain_text("Anda sedang offline")
    await expect(gunung_jati.locator(".updated-text")).to_have_text("diperbarui baru saja")
    await page.screenshot(path=screenshot("citizen-offline-first-visit.png"))
    await page.context.set_offline(False)

    # The map: a marker named after each hospital, though no tile server is reachable.
    response = await page.goto(f"{server}/peta")
    assert response is not None
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    for _, name, *_ in HOSPITALS:
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(1)
    marker = page.get_by_role("button", name="RSUD Waled", exact=True)
    await expect(marker).to_have_attribute("title", "RSUD Waled")
    await marker.click()
    popup = page.locator(".map-popup")
    await expect(popup).to_contain_text("9 kosong")
    await expect(
        popup.get_by_role("link", name="Telepon IGD RSUD Waled, 0231-200000")
    ).to_be_visible()
    await page.screenshot(path=screenshot("peta.png"))
    assert page.errors == []  # type: ignore[attr-defined]

    # On Android, directions open the phone's own maps app.
    android = await new_page(browser, PHONE, user_agent=ANDROID)
    await android.goto(f"{server}/")
    directions = android.get_by_role("link", name="Petunjuk arah ke RSUD Gunung Jati")
    await expect(directions).to_have_attribute(
        "href", "geo:-6.7196,108.5567?q=-6.7196,108.5567(RSUD%20Gunung%20Jati)"
    )
    await android.context.close()


LONG_NAME = (
    "Rumah Sakit Umum Daerah Waled Kabupaten Cirebon Provinsi Jawa Barat "
    "Unit Pelayanan Terpadu Gawat Darurat dan Rawat Inap"
)
CLASSES = [
    "VVIP", "VIP", "UTAMA", "KL1", "KL2", "KL3", "KRIS",
    "HCU", "ICU", "ICCU", "NICU", "PICU", "ISOLASI", "PERINATOLOGI",
]  # fmt: skip

NEXT_FRAMES = (
    "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
)
MEASURE = """() => {
  const boxes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let index = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    index += 1;
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width < 0.5 || r.height < 0.5) continue;
      boxes.push({node: index, text: node.textContent.trim().slice(0, 30),
                  left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    }
  }
  return boxes;
}"""


def misplaced(boxes: list[dict[str, Any]], width: int, height: int) -> list[str]:
    """Text outside the screen, and pairs of text boxes that overlap."""
    found = [
        f"outside: {b['text']!r} {b}"
        for b in boxes
        if b["left"] < -0.5 or b["top"] < -0.5 or b["right"] > width + 0.5
        or b["bottom"] > height + 0.5
    ]  # fmt: skip
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if a["node"] == b["node"]:
                continue
            across = min(a["right"], b["right"]) - max(a["left"], b["left"])
            down = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
            if across > 0.5 and down > 0.5:
                found.append(f"overlap: {a['text']!r} and {b['text']!r}")
    return found


async def test_board_fits_every_lobby_screen_fresh_and_stale(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    wards = [
        ward(f"R{n:02d}", bed_class, 120, n * 7 % 121, waiting=n % 3 * 11)
        for n, bed_class in enumerate(CLASSES)
    ]
    for code, age in (("3275011", timedelta(0)), ("3275022", timedelta(hours=3))):
        await factory.hospital(code, "3275", name=LONG_NAME)
        key = await factory.key(hospital_code=code)
        await post(server, code, key, report(*wards, at=datetime.now(UTC) - age))

    for code, state in (("3275011", "fresh"), ("3275022", "stale")):
        page = await new_page(browser, {"width": 1920, "height": 1080})
        await page.goto(f"{server}/papan/{code}")
        await expect(page.locator(".board-class")).to_have_count(14)
        await expect(page.locator("#board-hospital")).to_have_text(LONG_NAME)
        if state == "stale":
            await expect(page.get_by_role("alert")).to_contain_text("Data lama")
            await expect(page.locator(".board-class-stale")).to_have_count(14)
        else:
            await expect(page.locator("#board-connection")).to_have_attribute("data-state", "live")
        for width, height in BOARD_SIZES:
            await page.set_viewport_size({"width": width, "height": height})
            # Laid out again for the new screen (the grid's columns follow in the next frame).
            await page.evaluate(NEXT_FRAMES)
            boxes = await page.evaluate(MEASURE)
            assert boxes
            problems = misplaced(boxes, width, height)
            await page.screenshot(path=screenshot(f"papan-{state}-{width}x{height}.png"))
            assert problems == [], f"{state} {width}x{height}: {problems[:5]}"
            # Readable from across a lobby.
            # Read in one task of the page: the board may be drawn anew (a live update)
            # between finding a number and reading its style.
            size = await page.evaluate(
                "() => parseFloat(getComputedStyle("
                "document.querySelector('.board-free-number')).fontSize)"
            )
            assert size >= 32, f"{width}x{height}: numbers of {size}px"
        await page.context.close()
