"""A small region for the monitor tests, pushed through the hospital API, with numbers simple
enough to check by hand.

Region 3274 (Kota Cirebon):
  3274011 RSUD Kesambi   MAWAR KL3 20 beds, 3 free; MELATI KL3 10/2; ICU1 ICU 6/1
  3274022 RS Pelabuhan   ANGGREK KL3 15/0; ICU2 ICU 4/0; IGD IGD 8/5   (reported 2 h ago)
  3274033 RS Baru        registered, never reported
Region 3209 (Kabupaten Cirebon):
  3209011 RSUD Arjawinangun  KENANGA KL1 10/4
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from tests.support.factory import Factory
from tests.support.payloads import bearer, report, ward

Client = AsyncTestClient[Litestar]
PUSH = "/api/v1/hospitals/{}/occupancy"


async def push(client: Client, key: str, code: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(PUSH.format(code), json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def seed_region(client: Client, factory: Factory) -> dict[str, str]:
    """Creates the region above; returns the hospital keys by code."""
    now = datetime.now(UTC)
    keys = {}
    hospitals = [
        ("3274011", "3274", "RSUD Kesambi", -6.7277, 108.5523),
        ("3274022", "3274", "RS Pelabuhan", -6.7120, 108.5660),
        ("3274033", "3274", "RS Baru", -6.7400, 108.5400),
        ("3209011", "3209", "RSUD Arjawinangun", -6.6460, 108.4100),
    ]
    for code, region, name, lat, lon in hospitals:
        await factory.hospital(code, region, name=name, lat=lat, lon=lon)
        keys[code] = await factory.key(hospital_code=code)
    await push(
        client,
        keys["3274011"],
        "3274011",
        report(
            ward("MAWAR", "KL3", 20, 3),
            ward("MELATI", "KL3", 10, 2),
            ward("ICU1", "ICU", 6, 1),
            at=now - timedelta(minutes=2),
        ),
    )
    await push(
        client,
        keys["3274022"],
        "3274022",
        report(
            ward("ANGGREK", "KL3", 15, 0),
            ward("ICU2", "ICU", 4, 0),
            ward("IGD", "IGD", 8, 5),
            at=now - timedelta(hours=2),
        ),
    )
    await push(
        client,
        keys["3209011"],
        "3209011",
        report(ward("KENANGA", "KL1", 10, 4), at=now - timedelta(minutes=5)),
    )
    return keys


# Past 2**31: an `int` sum of these capacities overflows in PostgreSQL.
HUGE_WARDS = 25_000


HUGE_CAPACITY = 100_000


async def history_of_wards(conn: asyncpg.Connection, code: str) -> None:
    """The history rows of a hospital's wards written straight into the tables: each ward's
    report as its first change."""
    await conn.execute(
        """
        INSERT INTO occupancy_history (version, hospital_code, ward_code, bed_class,
            change, capacity, available, reported_at, received_at)
        SELECT 1, hospital_code, ward_code, bed_class, 'report', capacity, available,
               reported_at, received_at
        FROM wards WHERE hospital_code = $1
        """,
        code,
    )


async def huge_hospital(
    settings: Settings,
    factory: Factory,
    code: str = "3274011",
    reported_ago: timedelta = timedelta(minutes=10),
) -> None:
    """A hospital whose open wards hold more beds than an int can count, all occupied, as
    written before the cap per hospital existed (straight into the tables)."""
    await factory.hospital(code)
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        async with conn.transaction():
            await conn.execute(
                """
                INSERT INTO wards (hospital_code, ward_code, name, bed_class, capacity, available,
                                   reported_at, received_at)
                SELECT $1, 'W' || n, 'Ruang ' || n, 'ICU', $2, 0,
                       now() - $4::interval, now()
                FROM generate_series(1, $3) AS n
                """,
                code,
                HUGE_CAPACITY,
                HUGE_WARDS,
                reported_ago,
            )
            await history_of_wards(conn, code)
        # As after any bulk load: without fresh statistics the planner may take the tables
        # for as small as an earlier test left them, and join 25,000 wards by nested loops.
        await conn.execute("ANALYZE wards, occupancy_history")
    finally:
        await conn.close()
