"""A hospital's state has one SQL definition (hospital_state(),
013_hospital_state_json.sql): the state write_report builds for the write-through is the
state the hospital_states view reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import apply_report, close_ward
from bedsvc.services import Services
from bedsvc.store.states import load_state, state_from_row
from tests.support import Factory, report, ward


async def test_the_state_a_report_builds_is_the_state_postgresql_reads(
    services: Services, factory: Factory
) -> None:
    code = await factory.hospital()
    now = datetime.now(UTC)
    first = msgspec.convert(
        report(
            ward("MAWAR", available=3, available_male=1, available_female=2, waiting=4),
            ward("MELATI", "KL2", 10, 5, available_male=2, available_female=3, waiting=0),
            ward("ICU", "ICU", 6, 1, waiting=2),
            ward("ANGGREK", "VIP", 4, 4),
            at=now - timedelta(minutes=10),
        ),
        OccupancyReport,
    )
    pool, queries, sync = services.pool, services.queries, services.sync
    await apply_report(pool, queries, sync, code, first, max_open_wards=50)
    await close_ward(pool, queries, sync, code, "MELATI")

    # A ward updated, one new, one without a name (it keeps its own), one closed since (stale
    # here: it stays closed), and ANGGREK left out (its stored row stands).
    second: list[dict[str, Any]] = [
        ward("MAWAR", available=0, available_male=0, available_female=0, waiting=7),
        ward("ANYELIR", "KL1", 8, 2, available_male=1, available_female=1, waiting=3),
        {"ward_code": "ICU", "bed_class": "ICU", "capacity": 6, "available": 0, "waiting": 5},
        ward("MELATI", "KL2", 10, 1),
    ]
    async with pool.acquire() as conn:
        row = await queries.write_report(
            conn,
            hospital_code=code,
            reported_at=now - timedelta(minutes=5),
            ward_codes=[w["ward_code"] for w in second],
            names=[w.get("name") for w in second],
            bed_classes=[w["bed_class"] for w in second],
            capacities=[w["capacity"] for w in second],
            availables=[w["available"] for w in second],
            males=[w.get("available_male") for w in second],
            females=[w.get("available_female") for w in second],
            waitings=[w.get("waiting") for w in second],
            only_open=False,
            max_open_wards=50,
            key_id=None,
            username=None,
        )
        assert row is not None
        assert sorted(row.applied) == ["ANYELIR", "ICU", "MAWAR"]
        assert row.snapshot_version is not None
        assert row.version == row.snapshot_version + 1
        version, read = await load_state(conn, queries, code)

    built = state_from_row(row)
    assert read is not None
    assert version == row.version
    assert msgspec.json.encode(built) == msgspec.json.encode(read)
    assert [(w.ward_code, w.name) for w in read.wards] == [
        ("ANGGREK", "Ruang Anggrek"),
        ("ANYELIR", "Ruang Anyelir"),
        ("MAWAR", "Ruang Mawar"),
        ("ICU", "Ruang Icu"),
    ]
    mawar = read.wards[2]
    assert (mawar.available_male, mawar.available_female, mawar.waiting) == (0, 0, 7)
