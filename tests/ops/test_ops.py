"""What operators' tooling relies on: health, readiness, metrics, schema and limits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, RedisProcess, bearer
from tests.support.clock import stop_rate_limit_clock

Client = AsyncTestClient[Litestar]


async def readiness_until(
    client: Client, status: int, timeout: float = 5.0
) -> tuple[int, dict[str, Any]]:
    """/readyz answers from a background check: poll until it reports `status`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get("/readyz")
        if response.status_code == status or asyncio.get_running_loop().time() > deadline:
            return response.status_code, response.json()
        await asyncio.sleep(0.02)


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body | {"checked_at": None} == {
        "status": "ready",
        "database": "ok",
        "redis": "ok",
        "alerts": "ok",
        "checked_at": None,
    }
    assert datetime.fromisoformat(body["checked_at"]) <= datetime.now(UTC)


async def test_not_ready_without_redis_but_still_serving(
    settings: Settings, clean: None, redis_process: RedisProcess
) -> None:
    config = settings.replace(redis_url=redis_process.url, readiness_interval_seconds=0.05)
    async with AsyncTestClient(app=create_app(config)) as client:
        redis_process.stop()
        status, body = await readiness_until(client, 503)
        assert status == 503, body
        assert body["redis"].startswith("unreachable")
        assert body["database"] == "ok"
        assert (await client.get("/api/v1/availability")).status_code == 200

        redis_process.start()
        status, body = await readiness_until(client, 200)
        assert status == 200, body


async def test_readiness_costs_no_connection_per_call(client: Client) -> None:
    """Many calls at once answer from the last check, not from a pool of 10 connections."""
    answers = await asyncio.gather(*(client.get("/readyz") for _ in range(200)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["checked_at"] for a in answers}) <= 2


def _requests(path: str) -> float:
    labels = {"app_name": "bedsvc", "method": "GET", "path": path, "status_code": "200"}
    return REGISTRY.get_sample_value("bedsvc_requests_total", labels) or 0.0


async def test_metrics_are_prometheus_text(client: Client) -> None:
    # The registry is the process's (every app of the test session counts in it): compare.
    before = _requests("/api/v1/bed-classes")
    await client.get("/api/v1/bed-classes")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert _requests("/api/v1/bed-classes") == before + 1
    assert 'bedsvc_requests_total{app_name="bedsvc",method="GET",path="/api/v1/bed-classes"' in (
        metrics.text
    )


async def test_openapi_schema_documents_the_contract(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/availability",
        "/api/v1/hospitals/{hospital_code}",
        "/api/v1/bed-classes",
        "/api/v1/hospitals/{hospital_code}/occupancy",
        "/api/v1/hospitals/{hospital_code}/wards/{ward_code}",
        "/api/v1/admin/hospitals",
        "/api/v1/admin/keys",
    ):
        assert path in paths


async def test_oversized_body_is_refused(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    body = (
        b'{"reported_at": "2026-11-22T19:00:00+07:00", "wards": ['
        + b" " * settings.ingest.max_body_bytes
        + b"]}"
    )

    response = await client.post(
        f"/api/v1/hospitals/{code}/occupancy",
        content=body,
        headers=bearer(key) | {"content-type": "application/json"},
    )

    assert response.status_code == 413


async def test_bed_classes_carry_their_mappings(client: Client) -> None:
    classes = {c["code"]: c for c in (await client.get("/api/v1/bed-classes")).json()}
    assert list(classes)[:3] == ["VVIP", "VIP", "UTAMA"]
    assert classes["ICU"]["sirs_ids"] == [6, 38, 26, 27]
    assert classes["NICU"]["aplicares_codes"] == ["NIC"]
    assert classes["ISOLASI"]["edxl_bed_types"] == ["NegativeFlowIsolation", "OtherIsolation"]
    assert len(classes) == 18


async def test_writes_are_rate_limited_but_public_reads_are_not(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    app = create_app(settings.replace(write_rate_limit_per_minute=3))
    async with AsyncTestClient(app=app) as client:
        stop_rate_limit_clock(client.app)
        url = f"/api/v1/hospitals/{code}/occupancy"
        statuses = [
            (await client.post(url, json={}, headers=bearer(key))).status_code for _ in range(4)
        ]
        reads = [(await client.get("/api/v1/availability")).status_code for _ in range(5)]

    assert statuses == [422, 422, 422, 429]
    assert reads == [200] * 5
