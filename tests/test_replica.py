"""BEDSVC_DATABASE_REPLICA_URL: the monitor's history and exports read from the replica, the
rest of the service from the primary.

The "replica" here is a second database on the same server holding a hospital the primary
lacks, so every answer shows which database it came from."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from bedsvc.app import build_services, create_app
from bedsvc.settings import Settings
from bedsvc.store import migrate
from tests.conftest import Factory, bearer, report, ward, with_database

MONITOR = "/api/v1/monitor"
ON_REPLICA_ONLY = "3274099"


@pytest.fixture
async def replica_url(server_database_url: str) -> AsyncIterator[str]:
    name = f"bedsvc_test_replica_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_database_url, name)
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def seed_replica(settings: Settings, replica_url: str, at: datetime) -> None:
    """A hospital and one report, written through bedsvc itself into the replica database."""
    own = settings.model_copy(
        update={"database_url": replica_url, "redis_prefix": f"{settings.redis_prefix}:replica"}
    )
    services = await build_services(own)
    try:
        factory = Factory(services)
        code = await factory.hospital(ON_REPLICA_ONLY)
        key = await factory.key(hospital_code=code)
    finally:
        await services.redis.aclose()
        await services.pool.close()
    async with AsyncTestClient(app=create_app(own)) as client:
        response = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward("ICU1", "ICU", 6, 2), at=at),
            headers=bearer(key),
        )
        assert response.status_code == 200, response.text


async def test_history_and_exports_read_from_the_replica(
    settings: Settings, clean: None, factory: Factory, replica_url: str
) -> None:
    reported_at = datetime.now(UTC) - timedelta(minutes=30)
    await seed_replica(settings, replica_url, reported_at)
    await factory.hospital("3274011")
    key = await factory.key("monitor")  # keys are checked on the primary
    app = create_app(settings.model_copy(update={"database_replica_url": replica_url}))
    window = {
        "from": (reported_at - timedelta(hours=1)).isoformat(),
        "to": (reported_at + timedelta(hours=1)).isoformat(),
        "bucket": "1h",
    }

    async with AsyncTestClient(app=app) as client:

        async def monitor(path: str, **params: str) -> str:
            response = await client.get(f"{MONITOR}/{path}", params=params, headers=bearer(key))
            assert response.status_code == 200, response.text
            return response.text

        history = await client.get(f"{MONITOR}/history", params=window, headers=bearer(key))
        csv = await monitor("export.csv", **window)
        edxl = await monitor("export/edxl-have.xml")
        fhir = await monitor("export/fhir-measurereport.json", hospital=ON_REPLICA_ONLY)
        summary = await client.get(f"{MONITOR}/summary", headers=bearer(key))
        public = await client.get("/api/v1/availability")

    assert [(s["hospital"], s["bed_class"]) for s in history.json()["series"]] == [
        (ON_REPLICA_ONLY, "ICU")
    ]
    assert f",{ON_REPLICA_ONLY},ICU,6,4,2," in csv
    assert ON_REPLICA_ONLY in edxl
    assert "3274011" not in edxl
    assert '"numICUBeds"' in fhir
    # The current state, for the health office's summary and for citizens: the primary.
    assert [h["code"] for h in summary.json()["hospitals"]] == ["3274011"]
    assert [h["code"] for h in public.json()["hospitals"]] == ["3274011"]
