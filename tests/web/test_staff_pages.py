"""The ward-staff entry page, the lobby board and the citizens' page additions in Chromium,
against bedsvc served by granian in a subprocess on real PostgreSQL and Redis."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.browser import (
    PHONE,
    new_page,
    screenshot,
    serve_bedsvc,
    wait_in_page,
)
from tests.support.waits import eventually

# Its tests share the module's server: under pytest-xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("staff_pages")

NURSE_PHONE = {"width": 360, "height": 740}
TV = {"width": 1920, "height": 1080}
HOSPITAL = "3274011"


async def seed(factory: Factory, base_url: str) -> dict[str, str]:
    """RSUD Gunung Jati (BPJS partner, wards with queue and beds by sex), a private hospital,
    and a TNI hospital in a second region; a nurse of RSUD Gunung Jati."""
    await factory.hospital(
        HOSPITAL,
        "3274",
        name="RSUD Gunung Jati",
        kind="RSUD",
        bpjs_ppk_code="0120R001",
        region_name="Kota Cirebon",
        lat=-6.7196,
        lon=108.5567,
    )
    await factory.hospital(
        "3274022", "3274", name="RS Pelabuhan Cirebon", kind="Swasta", region_name="Kota Cirebon"
    )
    await factory.hospital(
        "3209011", "3209", name="RS TNI Ciremai", kind="TNI/Polri", region_name="Kab. Cirebon"
    )
    keys = {
        code: await factory.key(hospital_code=code) for code in (HOSPITAL, "3274022", "3209011")
    }
    now = datetime.now(UTC)
    reports = {
        HOSPITAL: report(
            ward("MAWAR", "KL3", 20, 3, available_male=1, available_female=2, waiting=5),
            ward("ICU", "ICU", 6, 2, waiting=0),
            # Ninety seconds: "1 menit lalu" on a page whose clock (the Date header, whole
            # seconds) may run up to a second behind, for the half minute a test may take.
            at=now - timedelta(seconds=90),
        ),
        "3274022": report(ward("KENANGA", "KL3", 12, 5), at=now),
        "3209011": report(ward("MELATI", "KL2", 10, 4), at=now),
    }
    async with httpx.AsyncClient(base_url=base_url) as http:
        for code, body in reports.items():
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy", json=body, headers=bearer(keys[code])
            )
            assert response.status_code == 200, response.text
    keys["password"] = await factory.user(HOSPITAL, "siti")
    return keys


async def sign_in(page: Page, base_url: str, password: str, username: str = "siti") -> None:
    await page.goto(f"{base_url}/rs")
    await page.get_by_label("Nama pengguna").fill(username)
    await page.get_by_label("Kata sandi").fill(password)
    await page.get_by_role("button", name="Masuk").click()


def ward_item(page: Page, code: str) -> object:
    return page.locator(f'li.ward[data-ward="{code}"]')


async def test_nurse_saves_two_wards_and_the_open_pages_follow(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    citizen = await new_page(browser, PHONE)
    await citizen.goto(f"{server}/?poll=30")
    board = await new_page(browser, TV)
    await board.goto(f"{server}/papan/{HOSPITAL}")
    await expect(board.locator('[data-class="KL3"] .board-free-number')).to_have_text("3")
    await expect(board.locator('[data-class="KL3"] .board-queue')).to_have_text("5 antrean")
    await expect(board.locator("#board-connection")).to_have_attribute("data-state", "live")

    nurse = await new_page(browser, NURSE_PHONE)
    await sign_in(nurse, server, keys["password"])
    await expect(nurse.get_by_role("heading", level=1)).to_have_text("RSUD Gunung Jati")
    mawar = nurse.locator('li.ward[data-ward="MAWAR"]')
    icu = nurse.locator('li.ward[data-ward="ICU"]')
    await expect(mawar.get_by_label("Kosong", exact=True)).to_have_value("3")
    await nurse.screenshot(path=screenshot("rs-phone.png"), full_page=True)

    # Two more free beds in Mawar with the large buttons (one of them a man's bed), one fewer
    # waiting; the ICU typed in.
    await nurse.get_by_role("button", name="Tambah kosong Ruang Mawar").click()
    await nurse.get_by_role("button", name="Tambah kosong Ruang Mawar").click()
    await nurse.get_by_role("button", name="Tambah kosong laki-laki Ruang Mawar").click()
    await nurse.get_by_role("button", name="Kurangi antrean Ruang Mawar").click()
    await icu.get_by_label("Kosong", exact=True).fill("0")
    await nurse.get_by_role("button", name="Simpan").click()

    await expect(mawar.locator(".ward-message")).to_have_text("Tersimpan.")
    await expect(icu.locator(".ward-message")).to_have_text("Tersimpan.")
    await expect(nurse.locator("#save-message")).to_have_text("2 ruang tersimpan.")
    await expect(nurse.locator("#last-save")).to_contain_text("Terakhir disimpan pukul")
    await nurse.screenshot(path=screenshot("rs-saved.png"), full_page=True)

    # Both open pages follow without a reload: 5 (KL3) + 0 (ICU) free.
    await expect(citizen.locator(f'li[data-code="{HOSPITAL}"] .count-number')).to_have_text("5")
    await expect(board.locator('[data-class="KL3"] .board-free-number')).to_have_text("5")
    await expect(board.locator('[data-class="KL3"] .board-queue')).to_have_text("4 antrean")
    await expect(board.locator('[data-class="ICU"] .board-free-label')).to_have_text("Penuh")
    await board.screenshot(path=screenshot("papan-1080p.png"))

    async with httpx.AsyncClient(base_url=server) as http:
        detail = (await http.get(f"/api/v1/hospitals/{HOSPITAL}")).json()
    saved = {w["ward_code"]: w for w in detail["wards"]}
    assert (saved["MAWAR"]["available"], saved["MAWAR"]["waiting"]) == (5, 4)
    assert (saved["MAWAR"]["available_male"], saved["MAWAR"]["available_female"]) == (2, 2)
    assert saved["ICU"]["available"] == 0
    for page in (citizen, board, nurse):
        assert page.errors == []  # type: ignore[attr-defined]


async def test_nurse_adds_and_closes_a_ward(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    nurse = await new_page(browser, NURSE_PHONE)
    await sign_in(nurse, server, keys["password"])
    await expect(nurse.locator("li.ward")).to_have_count(2)

    await nurse.get_by_text("Tambah ruang", exact=True).first.click()
    await nurse.get_by_label("Kode ruang").fill("ANGGREK")
    await nurse.get_by_label("Nama ruang").fill("Ruang Anggrek")
    await nurse.get_by_label("Kelas").select_option("KL1")
    await nurse.get_by_label("Jumlah tempat tidur").fill("8")
    await nurse.get_by_label("Kosong", exact=True).last.fill("9")
    await nurse.get_by_role("button", name="Tambah ruang").click()
    await expect(nurse.locator("#new-available-error")).to_contain_text(
        "tidak boleh lebih dari kapasitas"
    )

    await nurse.get_by_label("Kosong", exact=True).last.fill("6")
    await nurse.get_by_role("button", name="Tambah ruang").click()
    await expect(nurse.locator("li.ward")).to_have_count(3)
    await expect(nurse.locator('li.ward[data-ward="ANGGREK"] .ward-message')).to_have_text(
        "Tersimpan."
    )

    dialogs: list[str] = []

    async def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await (dialog.dismiss() if len(dialogs) == 1 else dialog.accept())

    nurse.on("dialog", answer)
    close = nurse.get_by_role("button", name="Tutup ruang")
    icu = nurse.locator('li.ward[data-ward="ICU"]')
    await icu.get_by_text("Pilihan lain").click()  # kept apart from the steppers
    await icu.locator(close).click()
    await expect(nurse.locator("li.ward")).to_have_count(3)  # dismissed: nothing closed
    await icu.locator(close).click()
    await expect(nurse.locator("li.ward")).to_have_count(2)
    assert dialogs[0].startswith("Tutup Ruang Icu?")
    async with httpx.AsyncClient(base_url=server) as http:
        detail = (await http.get(f"/api/v1/hospitals/{HOSPITAL}")).json()
    assert sorted(w["ward_code"] for w in detail["wards"]) == ["ANGGREK", "MAWAR"]


async def test_entry_page_refuses_wrong_password_and_disabled_user(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    nurse = await new_page(browser, NURSE_PHONE)

    await sign_in(nurse, server, "salah-sandi")
    await expect(nurse.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")

    await nurse.get_by_label("Kata sandi").fill(keys["password"])
    await nurse.get_by_role("button", name="Masuk").click()
    await expect(nurse.get_by_role("heading", level=1)).to_have_text("RSUD Gunung Jati")

    # The operator disables the user: the next save ends on the sign-in form.
    admin = await factory.key("admin")
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.delete("/api/v1/admin/users/siti", headers=bearer(admin))
        assert response.status_code == 200
    await nurse.get_by_role("button", name="Tambah kosong Ruang Mawar").click()
    await nurse.get_by_role("button", name="Simpan").click()
    await expect(nurse.get_by_role("alert")).to_contain_text("Sesi Anda berakhir")
    await nurse.get_by_label("Kata sandi").fill(keys["password"])
    await nurse.get_by_role("button", name="Masuk").click()
    await expect(nurse.get_by_role("alert")).to_contain_text("dinonaktifkan")


async def test_csv_upload_with_a_bad_line_applies_nothing(
    server: str,
    browser: Browser,
    factory: Factory,
    tmp_path: Path,
) -> None:
    keys = await seed(factory, server)
    nurse = await new_page(browser, NURSE_PHONE)
    await sign_in(nurse, server, keys["password"])
    await expect(nurse.locator("li.ward")).to_have_count(2)
    bad = tmp_path / "ruang.csv"
    bad.write_text(
        "ward_code,name,bed_class,capacity,available,waiting\n"
        "MAWAR,Ruang Mawar,KL3,20,0,9\n"
        "ICU,ICU,ICU,6,7,0\n"
    )

    await nurse.get_by_text("Unggah CSV", exact=True).click()
    await nurse.get_by_label("Berkas CSV").set_input_files(bad)
    await nurse.get_by_role("button", name="Unggah").click()

    message = nurse.locator("#csv-message")
    await expect(message).to_contain_text("Tidak ada yang disimpan")
    await expect(message.locator("li")).to_have_text(
        ["Baris 3, kolom available: tersedia (7) melebihi kapasitas (6)"]
    )
    await nurse.screenshot(path=screenshot("rs-csv-error.png"), full_page=True)
    async with httpx.AsyncClient(base_url=server) as http:
        detail = (await http.get(f"/api/v1/hospitals/{HOSPITAL}")).json()
    assert {w["ward_code"]: w["available"] for w in detail["wards"]} == {"MAWAR": 3, "ICU": 2}

    bad.write_text(
        "ward_code,name,bed_class,capacity,available,waiting\n"
        "MAWAR,Ruang Mawar,KL3,20,0,9\n"
        "ICU,ICU,ICU,6,1,0\n"
    )
    await nurse.get_by_label("Berkas CSV").set_input_files(bad)
    await nurse.get_by_role("button", name="Unggah").click()
    await expect(message).to_have_text("2 ruang tersimpan.")
    await expect(
        nurse.locator('li.ward[data-ward="ICU"]').get_by_label("Kosong", exact=True)
    ).to_have_value("1")


async def test_citizen_page_queue_directions_wards_and_filters(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    await seed(factory, server)
    page = await new_page(browser, PHONE)
    await page.goto(f"{server}/?poll=30")
    await expect(page.locator("li.hospital")).to_have_count(3)
    card = page.locator(f'li[data-code="{HOSPITAL}"]')

    # Mawar: 3 free, 5 waiting: the queue eats the free beds, and that is what it says.
    chip = card.locator(".class-chip").first
    await expect(chip).to_contain_text("5 antrean")
    await expect(chip).to_have_class(re.compile("class-chip-crowded"))
    await expect(card.locator(".count-queue")).to_have_text("5 antrean · antrean ≥ kosong")

    # On a desktop browser, directions open a web map (geo: on Android: test_citizen_pages).
    directions = card.get_by_role("link", name="Petunjuk arah ke RSUD Gunung Jati")
    assert "destination=-6.7196%2C108.5567" in (await directions.get_attribute("href") or "")

    await card.get_by_text("Lihat ruang").click()
    await expect(card.locator(".ward-row")).to_have_count(2)
    await expect(card.locator('.ward-row[data-ward="MAWAR"]')).to_contain_text("3 dari 20 kosong")
    # Beds by sex are part of the detail, on demand.
    await expect(card.locator(".sex-note")).to_have_text("Kelas III: L 1 · P 2")
    await page.screenshot(path=screenshot("citizen-wards.png"), full_page=True)

    await page.get_by_text("Filter", exact=True).click()

    await page.get_by_label("Jenis rumah sakit").select_option("Swasta")
    await expect(page.locator("li.hospital")).to_have_count(1)
    await page.get_by_label("Jenis rumah sakit").select_option("")
    await page.get_by_label("Hanya mitra BPJS").check()
    await expect(page.locator("li.hospital")).to_have_count(1)
    await expect(page.locator("li.hospital")).to_have_attribute("data-code", HOSPITAL)
    await page.get_by_label("Hanya mitra BPJS").uncheck()

    region = page.get_by_label("Wilayah")
    await expect(region.locator("option")).to_have_text(
        ["Semua wilayah", "Kab. Cirebon (1)", "Kota Cirebon (2)"]
    )
    await region.select_option("3209")
    await expect(page).to_have_url(re.compile(r"region=3209"))
    await expect(page.locator("li.hospital")).to_have_count(1)
    await expect(page.locator("li.hospital")).to_have_attribute("data-code", "3209011")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_offline_page_and_board_when_the_server_stops(
    settings: Settings,
    browser: Browser,
    factory: Factory,
    tmp_path: Path,
) -> None:
    with serve_bedsvc(settings, tmp_path) as served:
        base_url = served.base_url
        await seed(factory, base_url)
        citizen = await new_page(browser, PHONE)
        await citizen.goto(f"{base_url}/?poll=1")
        await expect(citizen.locator("li.hospital")).to_have_count(3)
        await wait_in_page(
            citizen, "navigator.serviceWorker && navigator.serviceWorker.controller !== null"
        )
        # One more read through the service worker, so that it holds the data.
        await citizen.reload()
        await expect(citizen.locator("li.hospital")).to_have_count(3)
        board = await new_page(browser, TV)
        await board.goto(f"{base_url}/papan/{HOSPITAL}")
        await expect(board.locator("#board-connection")).to_have_attribute("data-state", "live")

        served.kill()

        await expect(board.get_by_role("alert")).to_contain_text("Koneksi terputus")
        await board.screenshot(path=screenshot("papan-disconnected.png"))
        await citizen.reload()
        await expect(citizen.locator("li.hospital")).to_have_count(3)
        await expect(citizen.locator("#offline-notice")).to_contain_text(
            "Anda sedang offline. Menampilkan data terakhir (baru saja"
        )
        await expect(citizen.locator(f'li[data-code="{HOSPITAL}"] .count-number')).to_have_text("3")
        await citizen.screenshot(path=screenshot("citizen-offline.png"), full_page=True)


async def test_board_says_plainly_that_its_data_is_old(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    await factory.hospital(HOSPITAL, name="RSUD Gunung Jati")
    key = await factory.key(hospital_code=HOSPITAL)
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.post(
            f"/api/v1/hospitals/{HOSPITAL}/occupancy",
            json=report(ward("MAWAR", "KL3", 20, 3), minutes_ago=120),
            headers=bearer(key),
        )
        assert response.status_code == 200
    board = await new_page(browser, TV)
    await board.goto(f"{server}/papan/{HOSPITAL}")

    await expect(board.get_by_role("alert")).to_contain_text("Data lama")
    await expect(board.locator("#board-updated")).to_contain_text("2 jam lalu")
    await board.screenshot(path=screenshot("papan-stale.png"))

    unknown = await new_page(browser, TV)
    await unknown.goto(f"{server}/papan/9999999")
    await expect(unknown.get_by_role("heading", level=1)).to_have_text(
        "Rumah sakit tidak ditemukan"
    )


async def test_dashboard_shows_the_audit_trail(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    await seed(factory, server)
    monitor_key = await factory.key("monitor")
    page = await new_page(browser, {"width": 1280, "height": 900})
    await page.goto(f"{server}/dashboard")
    await page.get_by_label("Kunci API monitor").fill(monitor_key)
    await page.get_by_role("button", name="Masuk").click()

    rows = page.locator("#audit-rows tr")
    mawar = page.locator('#audit-rows tr[data-action="report"]', has_text="MAWAR")
    await expect(mawar).to_contain_text("MAWAR (KL3): \u2013 → 3/20 kosong, 5 antrean")
    await expect(mawar).to_contain_text("kunci key_")
    await expect(page.locator('#audit-rows tr[data-action="user.add"]')).to_contain_text("siti")

    await page.get_by_label("Kode rumah sakit").fill("3209011")
    await page.get_by_role("button", name="Tampilkan").click()
    # That hospital's report, and its registration by the operator.
    await expect(rows).to_have_count(2)
    await expect(page.locator('#audit-rows tr[data-action="report"]')).to_contain_text(
        "MELATI (KL2)"
    )
    await expect(page.locator('#audit-rows tr[data-action="hospital.save"]')).to_have_count(1)
    await page.screenshot(path=screenshot("dashboard-audit.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_dashboard_names_regions_and_charts_only_the_span_with_data(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    async with httpx.AsyncClient(base_url=server) as http:
        full_icu = report(ward("ICU", "ICU", 4, 0), at=datetime.now(UTC))
        response = await http.post(
            "/api/v1/hospitals/3209011/occupancy", json=full_icu, headers=bearer(keys["3209011"])
        )
        assert response.status_code == 200
    monitor_key = await factory.key("monitor")

    # The server's alert loop raises the alert in a round of its own, after the push.
    async def alerts() -> list[dict[str, object]]:
        async with httpx.AsyncClient(base_url=server) as http:
            listed = await http.get("/api/v1/monitor/alerts", headers=bearer(monitor_key))
            found: list[dict[str, object]] = listed.json()
            return found

    await eventually(
        alerts,
        lambda found: any(alert["subject"] == "3209/ICU" for alert in found),
        "the server to raise the ICU alert of Kab. Cirebon",
    )
    page = await new_page(browser, {"width": 1280, "height": 900})
    await page.goto(f"{server}/dashboard")
    await page.get_by_label("Kunci API monitor").fill(monitor_key)
    await page.get_by_role("button", name="Masuk").click()

    # The alerts name the region by name, and so does the region picker.
    await page.get_by_role("button", name="Muat ulang").click()
    await expect(page.locator("#alert-list")).to_contain_text(
        "Tidak ada tempat tidur ICU (dewasa) kosong di wilayah Kab. Cirebon"
    )
    await expect(page.locator("#region option")).to_contain_text(["Kab. Cirebon", "Kota Cirebon"])

    # A few minutes of history in a 24 h window: a flat step per bucket up to the end of the
    # last one (only horizontal and vertical edges), not a slope to zero at the right edge.
    area = page.locator("#chart path.occupied-area")
    await expect(area).to_have_count(1)
    d = await area.get_attribute("d") or ""
    shape = re.fullmatch(
        r"M([\d.]+),([\d.]+)((?:H[\d.]+V[\d.]+)*)H([\d.]+)L([\d.]+),([\d.]+)L([\d.]+),([\d.]+)Z",
        d,
    )
    assert shape, d
    start_x, top_y, _, right_x, down_x, bottom_y, back_x, back_y = (
        float(value) for value in shape.group(1, 2, 2, 4, 5, 6, 7, 8)
    )
    assert down_x == right_x  # straight down from the end of the data
    assert (back_x, back_y) == (start_x, bottom_y)
    assert top_y < bottom_y
    assert right_x > start_x
    await page.screenshot(path=screenshot("dashboard-regions.png"), full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


LONG_CODE = ("RUANG_PERAWATAN_ANAK_DAN_REMAJA_LANTAI_TIGA_SAYAP_TIMUR_GEDUNG_B1_X" * 2)[:64]


async def test_wards_show_their_age_long_codes_wrap_and_refusals_mark_the_field(
    server: str,
    browser: Browser,
    factory: Factory,
) -> None:
    keys = await seed(factory, server)
    hospital_key = await factory.key(hospital_code=HOSPITAL)
    long_ago = datetime.now(UTC) - timedelta(hours=3, seconds=30)  # clear of the hour's edge
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
