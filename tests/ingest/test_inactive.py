"""A hospital set inactive loses write access on every route (the bridges' are tested with
their sign-in: bridges/test_signin_hardening.py,
bridges/test_aplicares_hardening.py)."""

from __future__ import annotations

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward

Client = AsyncTestClient[Litestar]


async def test_an_inactive_hospital_cannot_push_or_close(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    url = f"/api/v1/hospitals/{code}/occupancy"
    first = await client.post(url, json=report(ward("MAWAR"), minutes_ago=2), headers=bearer(key))
    assert first.status_code == 200, first.text
    await factory.hospital(code, active=False)

    pushed = await client.post(
        url, json=report(ward("MAWAR", available=9), minutes_ago=1), headers=bearer(key)
    )
    closed = await client.delete(f"/api/v1/hospitals/{code}/wards/MAWAR", headers=bearer(key))

    for response in (pushed, closed):
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "inactive" in response.json()["detail"]
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        row = await conn.fetchrow("SELECT available, closed_at FROM wards")
    finally:
        await conn.close()
    assert (row["available"], row["closed_at"]) == (3, None)
