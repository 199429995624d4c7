"""What a monitor query may cost: bounded answers, a statement timeout, no work for a client
that left, and no 500 for times at the calendar's edges."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer
from tests.support.live import StartServer
from tests.support.region import Client, huge_hospital, seed_region

MONITOR = "/api/v1/monitor"


def day_window(bucket: str = "1h") -> dict[str, str]:
    return {"from": (datetime.now(UTC) - timedelta(days=1)).isoformat(), "bucket": bucket}


async def test_history_and_export_are_bounded(
    settings: Settings, clean: None, factory: Factory
) -> None:
    config = settings.replace(monitor_max_points=50, monitor_max_export_rows=100)
    async with AsyncTestClient(app=create_app(config)) as client:
        await seed_region(client, factory)
        key = await factory.key("monitor")

        async def get(path: str, **params: str) -> httpx.Response:
            return await client.get(f"{MONITOR}/{path}", params=params, headers=bearer(key))

        # One hospital's two classes over a day of hours (25 buckets, as 24 h rarely align): 50.
        fits = await get("history", hospital="3274011", **day_window())
        assert fits.status_code == 200, fits.text
        # Every hospital and class (six series) is more.
        over = await get("history", **day_window())
        assert over.status_code == 422, over.text
        assert over.json()["errors"][0]["field"] == "bucket"
        assert "at most 50" in over.json()["detail"]
        assert (await get("history", **day_window("6h"))).status_code == 200

        assert (await get("export.csv", **day_window("6h"))).status_code == 200
        too_long = await get("export.csv", **day_window("1h"))
        assert too_long.status_code == 422, too_long.text
        assert too_long.headers["content-type"].startswith("application/problem+json")
        assert "at most 100 in one answer" in too_long.json()["detail"]


async def test_a_monitor_query_past_its_statement_timeout_is_stopped(
    settings: Settings, clean: None, factory: Factory
) -> None:
    await huge_hospital(settings, factory)
    key = await factory.key("monitor")
    config = settings.replace(monitor_statement_timeout_seconds=0.01)
    async with AsyncTestClient(app=create_app(config)) as client:
        window = {"from": (datetime.now(UTC) - timedelta(days=30)).isoformat(), "bucket": "6h"}
        response = await client.get(f"{MONITOR}/history", params=window, headers=bearer(key))

        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "longer than 0.01 s" in response.json()["detail"]
        # The pooled connection kept no trace of the limit: other queries run as before.
        assert (await client.get("/readyz")).status_code == 200


async def _running_history_queries(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'active' AND query LIKE '%AS first_bucket%'"
            " AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


async def _wait_for_queries(settings: Settings, expected: int, timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await _running_history_queries(settings) == expected:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_client_that_leaves_stops_its_query(
    start_server: StartServer, settings: Settings, factory: Factory, services: Services
) -> None:
    # Reported before the range: every ward is carried through all of its buckets.
    await huge_hospital(settings, factory, reported_ago=timedelta(days=400))
    key = await factory.key("monitor")
    server = await start_server(monitor_max_points=10**9, monitor_max_export_rows=10**9)
    long_ago = (datetime.now(UTC) - timedelta(days=399)).isoformat()
    requests: list[tuple[str, dict[str, Any]]] = [
        ("history", {"from": long_ago, "bucket": "2h"}),
        ("export.csv", {"from": long_ago, "bucket": "1m"}),
    ]
    for path, params in requests:
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
            request = http.build_request(
                "GET", f"{MONITOR}/{path}", params=params, headers=bearer(key)
            )
            pending = asyncio.ensure_future(http.send(request, stream=True))
            # A server sharing the machine with the rest of the suite may take seconds to start it.
            started = await _wait_for_queries(settings, 1, timeout=15)
            assert started, f"{path}: the query never started"
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                response = await pending
                await response.aclose()
        # The client is gone: PostgreSQL stops working for it, long before the 30 s timeout.
        assert await _wait_for_queries(settings, 0, timeout=10), f"{path}: the query kept running"


async def test_times_at_the_calendars_edges_are_refused(client: Client, factory: Factory) -> None:
    key = await factory.key("monitor")
    for path in ("history", "export.csv"):
        for params in (
            {"to": "0001-01-01T00:00Z"},
            {"from": "0001-01-01T00:00+14:00"},
            {"to": "9999-12-31T23:59:59-12:00"},
        ):
            response = await client.get(f"{MONITOR}/{path}", params=params, headers=bearer(key))
            assert response.status_code == 422, (path, params, response.text)
            [error] = response.json()["errors"]
            assert error["field"] in params
