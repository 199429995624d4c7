"""Input rules of the second hardening pass: nesting, look-alike codes, old reports, the
registry's audit event, and the settings' old names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.access.client_address import address_group
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.aplicares import Simrs as Aplicares
from tests.support.aplicares import hospital_with_bridge, room

Client = AsyncTestClient[Litestar]

HOSPITAL = "3274011"
NESTED = b"[" * 100_000 + b"]" * 100_000
NESTED_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
# "MAWAR" with the Cyrillic capital A (U+0410) twice: the same word on every screen.
LOOK_ALIKE = "M\u0410W\u0410R"


async def test_deeply_nested_json_is_a_client_error_everywhere(
    client: Client, factory: Factory, capfd: pytest.CaptureFixture[str]
) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    admin = await factory.key("admin")
    targets = [
        (f"/api/v1/hospitals/{HOSPITAL}/occupancy", bearer(key)),
        ("/api/v1/admin/hospitals", bearer(admin)),
        ("/api/v1/admin/keys", bearer(admin)),
        ("/api/v1/admin/users", bearer(admin)),
        ("/api/v1/session", {}),
    ]
    for path, headers in targets:
        for body in (NESTED, NESTED_OBJECT, b'{"wards": ' + NESTED + b"}"):
            response = await client.post(
                path, content=body, headers=headers | {"Content-Type": "application/json"}
            )
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")

    logged = capfd.readouterr()
    assert "Traceback" not in logged.out + logged.err
    assert "RecursionError" not in logged.out + logged.err


async def test_a_look_alike_code_is_refused_wherever_codes_enter(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    credential = await hospital_with_bridge(factory, services)
    key = await factory.key(hospital_code=HOSPITAL)
    admin = await factory.key("admin")
    pushed = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy",
        json=report(ward("MAWAR"), ward(LOOK_ALIKE)),
        headers=bearer(key),
    )
    bridged = await Aplicares(client, credential).post("create", room(LOOK_ALIKE))
    registered = await client.post(
        "/api/v1/admin/hospitals",
        json={"code": "32740\u0661\u0662", "name": "RS", "region_code": "3274"},
        headers=bearer(admin),
    )
    user = await client.post(
        "/api/v1/admin/users",
        json={"hospital_code": f"{HOSPITAL[:-1]}\u0661", "username": "siti"},
        headers=bearer(admin),
    )
    dotted = await client.post(
        f"/api/v1/hospitals/{HOSPITAL}/occupancy",
        json=report(ward("MAWAR.1")),
        headers=bearer(key),
    )

    assert pushed.status_code == 422, pushed.text
    assert pushed.json()["errors"][0]["field"] == "wards[1].ward_code"
    assert bridged.status_code == 422, bridged.text
    assert registered.status_code == 422, registered.text
    assert user.status_code == 422, user.text
    assert dotted.status_code == 422, dotted.text
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM wards") == 0
    finally:
        await conn.close()


async def test_a_report_dated_long_ago_is_refused(client: Client, factory: Factory) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key(hospital_code=HOSPITAL)
    url = f"/api/v1/hospitals/{HOSPITAL}/occupancy"
    now = datetime.now(UTC)

    old = await client.post(
        url, json=report(ward(), at=now - timedelta(days=60)), headers=bearer(key)
    )
    stale_day = await client.post(
        url, json=report(ward(), at=now - timedelta(days=1, minutes=1)), headers=bearer(key)
    )
    recent = await client.post(
        url, json=report(ward(), at=now - timedelta(hours=23)), headers=bearer(key)
    )

    assert old.status_code == 422, old.text
    assert old.json()["errors"][0]["field"] == "reported_at"
    assert stale_day.status_code == 422, stale_day.text
    assert recent.status_code == 200, recent.text


async def test_the_registry_audit_event_is_written_in_the_edit_s_transaction(
    client: Client, factory: Factory, settings: Settings
) -> None:
    admin = await factory.key("admin")
    body = {"code": "3274099", "name": "RS Baru", "region_code": "3274"}
    saved = await client.post("/api/v1/admin/hospitals", json=body, headers=bearer(admin))
    assert saved.status_code == 200, saved.text

    conn = await asyncpg.connect(settings.database.database_url)
    try:
        hospital = await conn.fetchval(
            "SELECT xmin::text FROM hospitals WHERE code = $1", "3274099"
        )
        event = await conn.fetchval(
            "SELECT xmin::text FROM audit_events WHERE action = 'hospital.save' AND subject = $1",
            "3274099",
        )
    finally:
        await conn.close()
    assert hospital == event


def test_ipv6_addresses_are_grouped_by_prefix() -> None:
    assert address_group("2001:db8:1:2:3:4:5:6", 64) == "2001:db8:1:2::/64"
    assert address_group("2001:db8:1:2:3:4:5:6", 48) == "2001:db8:1::/48"
    assert address_group("2001:db8:1:2:3:4:5:6", 128) == "2001:db8:1:2:3:4:5:6/128"
    assert address_group("::ffff:10.0.0.1", 64) == "10.0.0.1"
    assert address_group("10.0.0.1", 64) == "10.0.0.1"
    assert address_group("testclient", 64) == "testclient"


def test_old_names_of_the_sign_in_settings_still_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDSVC_SIGNIN_MAX_FAILURES_PER_LOGIN", "7")
    monkeypatch.setenv("BEDSVC_SIGNIN_FAILURE_WINDOW_SECONDS", "120")
    monkeypatch.setenv("BEDSVC_SIGN_IN_MAX_FAILURES_PER_ADDRESS", "30")
    with pytest.warns(FutureWarning) as warned:
        settings = Settings()
    assert {str(w.message) for w in warned} == {
        "BEDSVC_SIGNIN_MAX_FAILURES_PER_LOGIN is deprecated: set BEDSVC_SIGN_IN_MAX_FAILURES "
        "instead",
        "BEDSVC_SIGNIN_FAILURE_WINDOW_SECONDS is deprecated: set BEDSVC_SIGN_IN_WINDOW_SECONDS "
        "instead",
    }
    assert settings.access.sign_in_max_failures == 7
    assert settings.access.sign_in_window_seconds == 120
    assert settings.access.sign_in_max_failures_per_address == 30
    # The new name wins over an old one.
    monkeypatch.setenv("BEDSVC_SIGN_IN_MAX_FAILURES", "4")
    with pytest.warns(FutureWarning):
        assert Settings().access.sign_in_max_failures == 4
