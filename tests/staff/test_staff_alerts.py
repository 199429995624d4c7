"""A hospital's stale alert links to the entry page and reaches the hospital's own receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.monitor.alerts import evaluate
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.alerts import Receiver, alert_settings, deliver_all, direct

Client = AsyncTestClient[Litestar]


async def test_stale_alert_links_the_entry_page_and_reaches_the_hospital(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    admin = await factory.key("admin")
    with Receiver() as office, Receiver() as hospital:
        saved = await client.post(
            "/api/v1/admin/hospitals",
            json={
                "code": "3274011",
                "name": "RSUD Gunung Jati",
                "region_code": "3274",
                "alert_webhook_url": hospital.url,
            },
            headers=bearer(admin),
        )
        assert saved.status_code == 200, saved.text
        await factory.hospital("3274022", "3274")
        config = alert_settings(
            settings, alert_webhook_urls=[office.url], public_url="https://beds.example.go.id/"
        )
        push_report = direct(services)
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        for code in ("3274011", "3274022"):
            await push_report(code, report(ward("MAWAR", "KL3", 20, 4), at=long_ago))

        await evaluate(services.pool, services.queries, config, timedelta(minutes=30))
        await deliver_all(services, config)
        await push_report("3274011", report(ward("MAWAR", "KL3", 20, 3)))
        await evaluate(services.pool, services.queries, config, timedelta(minutes=30))
        await deliver_all(services, config)

    assert sorted(office.events()) == [
        ("fired", "hospital_stale", "3274011"),
        ("fired", "hospital_stale", "3274022"),
        ("resolved", "hospital_stale", "3274011"),
    ]
    # The hospital hears of its own alert only.
    assert hospital.events() == [
        ("fired", "hospital_stale", "3274011"),
        ("resolved", "hospital_stale", "3274011"),
    ]
    message = hospital.calls[0]["alert"]["message"]
    assert message.startswith("RSUD Gunung Jati (3274011) belum melapor sejak ")
    assert " WIB. " in message
    assert message.endswith("Petugas ruangan dapat melapor di https://beds.example.go.id/rs")


async def test_hospital_webhook_must_be_http(client: Client, factory: Factory) -> None:
    admin = await factory.key("admin")
    response = await client.post(
        "/api/v1/admin/hospitals",
        json={
            "code": "3274011",
            "name": "RSUD Gunung Jati",
            "region_code": "3274",
            "alert_webhook_url": "file:///etc/passwd",
        },
        headers=bearer(admin),
    )
    assert response.status_code == 422
    assert "alert_webhook_url" in response.json()["detail"]
