"""The entry page /rs for ward staff on a 360 px phone in Chromium: each ward's age and stale
badge, long codes that wrap, refusals in Bahasa Indonesia next to the field they concern."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import Factory, bearer, report, ward
from tests.test_pages import browser, new_page, screenshot  # noqa: F401 - fixtures
from tests.test_staff_pages import (  # noqa: F401 - fixtures
    HOSPITAL,
    NURSE_PHONE,
    seed,
    server,
    sign_in,
)

LONG_CODE = ("RUANG_PERAWATAN_ANAK_DAN_REMAJA_LANTAI_TIGA_SAYAP_TIMUR_GEDUNG_B1_X" * 2)[:64]


async def test_wards_show_their_age_long_codes_wrap_and_refusals_mark_the_field(
    server: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    hospital_key = await factory.key(hospital_code=HOSPITAL)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    async with httpx.AsyncClient(base_url=server) as http:
        old = await http.post(
            f"/api/v1/hospitals/{HOSPITAL}/occupancy",
            json=report(ward(LONG_CODE, "KL2", 12, 4, waiting=2), at=long_ago),
            headers=bearer(hospital_key),
        )
    assert old.status_code == 200, old.text
    assert len(LONG_CODE) == 64

    nurse = await new_page(browser, NURSE_PHONE)
    await sign_in(nurse, server, keys["password"])
    await expect(nurse.locator("li.ward")).to_have_count(3)
    mawar = nurse.locator('li.ward[data-ward="MAWAR"]')
    quiet = nurse.locator(f'li.ward[data-ward="{LONG_CODE}"]')
    await expect(mawar.locator(".ward-age")).to_have_text("diperbarui 1 menit lalu")
    await expect(mawar.locator(".badge-stale")).to_have_count(0)
    await expect(quiet.locator(".ward-age")).to_contain_text("diperbarui 3 jam lalu")
    await expect(quiet.locator(".badge-stale")).to_have_text("Perlu diperbarui")
    await expect(quiet.get_by_label("Antrean", exact=True)).to_have_value("2")

    # No horizontal scroll at 360 px, and the queue's stepper stays on the screen.
    width = await nurse.evaluate("document.documentElement.scrollWidth")
    assert width <= NURSE_PHONE["width"]
    box = await quiet.locator("button.step").last.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= NURSE_PHONE["width"]
    # "Tutup ruang" is not among the steppers: hidden until its own disclosure opens.
    await expect(quiet.get_by_role("button", name="Tutup ruang")).to_be_hidden()
    await nurse.screenshot(path=screenshot("rs-long-code.png"), full_page=True)

    # A capacity above BEDSVC_MAX_WARD_CAPACITY: refused next to the new ward's field.
    await nurse.get_by_text("Tambah ruang", exact=True).first.click()
    await nurse.get_by_label("Kode ruang").fill("ANGGREK")
    await nurse.get_by_label("Kelas").select_option("KL1")
    await nurse.get_by_label("Jumlah tempat tidur").fill("501")
    await nurse.locator("#new-available").fill("3")
    await nurse.get_by_role("button", name="Tambah ruang").click()
    await expect(nurse.locator("#new-capacity-error")).to_have_text(
        "Paling banyak 500 tempat tidur per ruang."
    )
    await expect(nurse.locator("#new-capacity")).to_have_attribute("aria-invalid", "true")

    # The server's refusal (a class it does not know) in Bahasa Indonesia, at the new ward's
    # class, not at a ward of the list.
    await nurse.evaluate(
        "document.querySelector('#new-class').append(new Option('Kelas lama', 'KELAS9'))"
    )
    await nurse.get_by_label("Kelas").select_option("KELAS9")
    await nurse.get_by_label("Jumlah tempat tidur").fill("8")
    await nurse.get_by_role("button", name="Tambah ruang").click()
    await expect(nurse.locator("#new-class-error")).to_have_text(
        "Kelas ini tidak dikenal. Pilih kelas dari daftar."
    )
    await expect(nurse.locator("#add-message")).to_contain_text("Ruang baru belum disimpan.")
    await expect(nurse.locator("#new-capacity-error")).to_be_hidden()
    await expect(nurse.locator("li.ward .field-error:visible")).to_have_count(0)
    await nurse.screenshot(path=screenshot("rs-refusal.png"), full_page=True)
    assert nurse.errors == []  # type: ignore[attr-defined]
