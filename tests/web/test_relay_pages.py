"""The relays as people see them, in a real browser: the dashboard's column for the health
office, and on /rs whether a ward-staff save reached both registries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from bedsvc.relay.cli import set_from_cli
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.browser import DESKTOP, new_page
from tests.support.fake_sirs import PASSWORD, FakeSirs
from tests.support.live import free_port
from tests.support.serve import ServeProcess, server_env
from tests.support.waits import eventually

CODE = "3274011"


@pytest.fixture
def fake() -> Iterator[FakeSirs]:
    registry = FakeSirs()
    registry.start()
    yield registry
    registry.stop()


@pytest.fixture
def relaying(
    settings: Settings, clean: None, fake: FakeSirs, tmp_path: Path
) -> Iterator[ServeProcess]:
    """bedsvc serving with both relays on: SIRS Online to the fake registry, Aplicares to an
    address where nothing listens (its credential is refused before the test starts)."""
    env = server_env(
        settings,
        tmp_path,
        BEDSVC_RELAY_SIRS_URL=fake.url,
        BEDSVC_RELAY_APLICARES_URL=f"http://127.0.0.1:{free_port()}/aplicaresws/rest",
        BEDSVC_RELAY_MIN_INTERVAL_SECONDS="0.2",
        BEDSVC_LIVE_WORKERS="0",
        BEDSVC_ALERT_RULES="",
    )
    with ServeProcess(env, "serve") as server:
        yield server


async def relays_as_before(services: Services) -> None:
    """SIRS Online got the current state two minutes ago; Aplicares refused the credential.

    Written once the server's relay worker has sent to SIRS Online and tried Aplicares, and
    holds neither row: a send still under way would write its own outcome over this one."""

    async def settled() -> bool:
        async with services.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT bool_and(lease_until IS NULL OR lease_until < now())"
                    " AND bool_and(CASE registry WHEN 'sirs' THEN sent_version = h.version"
                    " ELSE failures > 0 END)"
                    " FROM relay_targets JOIN hospitals h ON h.code = hospital_code"
                )
            )

    await eventually(settled, bool, "the relay worker to send and to try", timeout=15)
    async with services.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM relay_targets FOR UPDATE")
        await conn.execute(
            "UPDATE relay_targets SET last_sent_at = now() - interval '2 minutes',"
            " sent_version = (SELECT version FROM hospitals WHERE code = $1)"
            " WHERE registry = 'sirs'",
            CODE,
        )
        await conn.execute(
            "UPDATE relay_targets SET refused_at = now(), failing_since = now(), failures = 1,"
            " last_error = 'credential_refused', next_attempt_at = now() + interval '1 hour'"
            " WHERE registry = 'aplicares'"
        )


async def test_staff_and_health_office_see_where_a_save_went(
    relaying: ServeProcess,
    fake: FakeSirs,
    settings: Settings,
    factory: Factory,
    services: Services,
    browser: Browser,
    tmp_path: Path,
) -> None:
    await factory.hospital(CODE, name="RSUD Gunung Jati", bpjs_ppk_code="0101R001")
    password = await factory.user(CODE)
    monitor = await factory.key("monitor")
    key = await factory.key(hospital_code=CODE)
    await relaying.ready()
    async with httpx.AsyncClient(base_url=relaying.http) as http:
        pushed = await http.post(
            f"/api/v1/hospitals/{CODE}/occupancy",
            json=report(ward("MAWAR", "KL3", 20, 3)),
            headers=bearer(key),
        )
        assert pushed.status_code == 200, pushed.text
    own = settings.replace(data_dir=tmp_path)  # the server's key file
    assert settings.database.database_url is not None
    await set_from_cli(own, settings.database.database_url, CODE, "sirs", CODE, PASSWORD)
    await set_from_cli(own, settings.database.database_url, CODE, "aplicares", "21095", "rahasia")
    await relays_as_before(services)

    nurse = await new_page(browser, DESKTOP)
    await nurse.goto(f"{relaying.http}/rs")
    await nurse.get_by_label("Nama pengguna").fill("perawat.mawar")
    await nurse.get_by_label("Kata sandi").fill(password)
    await nurse.get_by_role("button", name="Masuk").click()
    await expect(nurse.get_by_role("heading", level=1)).to_have_text("RSUD Gunung Jati")
    status = nurse.locator("#relay-status")
    await expect(status).to_contain_text("SIRS Online: terkirim 2 menit lalu")
    await nurse.get_by_role("button", name="Tambah kosong Ruang Mawar").click()
    await nurse.get_by_role("button", name="Simpan").click()
    await expect(status).to_contain_text("SIRS Online: terkirim baru saja", timeout=15_000)
    await expect(status).to_contain_text("Aplicares: gagal: kata sandi ditolak")
    assert fake.free_beds() == 4  # the save itself, the first the registry got
    assert nurse.errors == []  # type: ignore[attr-defined]

    office = await new_page(browser, DESKTOP)
    await office.goto(f"{relaying.http}/dashboard")
    await office.get_by_label("Kunci API monitor").fill(monitor)
    await office.get_by_role("button", name="Masuk").click()
    row = office.locator(f'#hospitals-table tr[data-code="{CODE}"]')
    await expect(row).to_contain_text("SIRS Online: terkirim baru saja")
    await expect(row).to_contain_text("Aplicares: gagal: kata sandi ditolak")
    assert office.errors == []  # type: ignore[attr-defined]
