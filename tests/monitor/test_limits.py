"""Oversized hospitals and failing alert cycles: monitoring keeps answering, failures show."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from bedsvc.app import create_app
from bedsvc.monitor.alerts import evaluate
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.region import HUGE_CAPACITY, HUGE_WARDS, huge_hospital

Client = AsyncTestClient[Litestar]
MONITOR = "/api/v1/monitor"


async def test_sums_past_two_billion_beds_do_not_break_monitoring(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    await huge_hospital(settings, factory)
    key = await factory.key("monitor")
    total = HUGE_WARDS * HUGE_CAPACITY

    summary = await client.get(f"{MONITOR}/summary", headers=bearer(key))
    assert summary.status_code == 200, summary.text
    assert summary.json()["total"]["capacity"] == total
    assert summary.json()["total"]["occupied"] == total

    window = {"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "bucket": "1h"}
    history = await client.get(f"{MONITOR}/history", params=window, headers=bearer(key))
    assert history.status_code == 200, history.text
    assert history.json()["series"][0]["points"][0]["capacity"] == total
    export = await client.get(f"{MONITOR}/export.csv", params=window, headers=bearer(key))
    assert export.status_code == 200
    assert f",{total},{total},0," in export.text

    at_once = settings.replace(alert_hold_seconds=0)
    result = await evaluate(services.pool, services.queries, at_once, services.stale_after)
    assert len(result.fired) == 1  # the region's ICU beds are all taken


def _failures() -> float:
    return REGISTRY.get_sample_value("bedsvc_alert_cycle_failures_total") or 0.0


async def _readiness(client: Client, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        body = (await client.get("/readyz")).json()
        if predicate(body):
            return body
        await asyncio.sleep(0.02)
    raise AssertionError(f"readiness never matched: {body}")


async def test_a_failing_alert_cycle_shows_in_metrics_and_readiness(
    settings: Settings, clean: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = settings.replace(alert_interval_seconds=0.05, log_level="ERROR")
    before = _failures()
    async with AsyncTestClient(app=create_app(config)) as client:
        await _readiness(client, lambda body: body["alerts"] == "ok")
        conn = await asyncpg.connect(settings.database.database_url)
        await conn.execute("ALTER TABLE alerts RENAME TO alerts_away")
        try:
            failing = await _readiness(client, lambda body: body["alerts"] != "ok")
            ready = await client.get("/readyz")
        finally:
            await conn.execute("ALTER TABLE alerts_away RENAME TO alerts")
            await conn.close()
        assert failing["alerts"].startswith("failing since ")
        assert "UndefinedTableError" in failing["alerts"]
        # Serving does not depend on alerts: the worker stays ready.
        assert ready.status_code == 200
        assert _failures() > before
        metrics = (await client.get("/metrics")).text
        assert "bedsvc_alert_cycle_failures_total" in metrics
        await _readiness(client, lambda body: body["alerts"] == "ok")
    logged = capsys.readouterr()
    assert "alert cycle failed" in logged.out + logged.err


async def test_open_wards_per_hospital_are_capped(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    app = create_app(settings.replace(max_wards_per_hospital=3))
    url = f"/api/v1/hospitals/{code}/occupancy"
    async with AsyncTestClient(app=app) as client:
        first = await client.post(
            url, json=report(ward("A"), ward("B"), minutes_ago=5), headers=bearer(key)
        )
        assert first.status_code == 200, first.text

        over = await client.post(
            url, json=report(ward("A"), ward("C"), ward("D"), minutes_ago=4), headers=bearer(key)
        )
        assert over.status_code == 422, over.text
        assert over.headers["content-type"].startswith("application/problem+json")
        assert "wards" in {e["field"] for e in over.json()["errors"]}
        # Nothing of the refused report was written, not even ward A's update.
        detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
        assert sorted(w["ward_code"] for w in detail["wards"]) == ["A", "B"]

        # Updates of open wards and new wards up to the cap pass; a closed ward frees a place.
        at_cap = await client.post(
            url, json=report(ward("A"), ward("C"), minutes_ago=3), headers=bearer(key)
        )
        assert at_cap.status_code == 200, at_cap.text
        closed = await client.delete(f"/api/v1/hospitals/{code}/wards/B", headers=bearer(key))
        assert closed.status_code == 200
        again = await client.post(url, json=report(ward("D"), minutes_ago=2), headers=bearer(key))
        assert again.status_code == 200, again.text
