"""What operators' tooling relies on: health, readiness, metrics, schema and limits."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.conftest import Factory, RedisProcess, bearer

Client = AsyncTestClient[Litestar]


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "redis": "ok"}


async def test_not_ready_without_redis_but_still_serving(
    own_redis_client: Client, redis_process: RedisProcess
) -> None:
    redis_process.stop()

    ready = await own_redis_client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["redis"].startswith("unreachable")
    assert (await own_redis_client.get("/api/v1/availability")).status_code == 200


async def test_metrics_are_prometheus_text(client: Client) -> None:
    await client.get("/api/v1/bed-classes")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "bedsvc_requests_total" in metrics.text


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
        + b" " * settings.max_body_bytes
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
    app = create_app(settings.model_copy(update={"write_rate_limit_per_minute": 3}))
    async with AsyncTestClient(app=app) as client:
        url = f"/api/v1/hospitals/{code}/occupancy"
        statuses = [
            (await client.post(url, json={}, headers=bearer(key))).status_code for _ in range(4)
        ]
        reads = [(await client.get("/api/v1/availability")).status_code for _ in range(5)]

    assert statuses == [422, 422, 422, 429]
    assert reads == [200] * 5
