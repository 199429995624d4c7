"""Region summaries and stale reporters, from PostgreSQL (the record, not the cache)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bedsvc.monitor.budget import monitor_connection
from bedsvc.monitor.schemas import (
    ClassOccupancy,
    HospitalOccupancy,
    Occupancy,
    StaleHospital,
    StaleReport,
    StaleWard,
    Summary,
    bor,
)
from bedsvc.settings import Settings
from bedsvc.store import Queries
from bedsvc.store.queries import SummaryRowsRow
from bedsvc.store.reference import BedClass


@dataclass(frozen=True, slots=True)
class MonitorService:
    """What the health office's routes use, built once per worker. `replica_pool` serves the
    history and the exports: a small pool of its own, on the streaming replica when one is
    set, so that however many of them run or stall, the pushes' connections stay free."""

    pool: asyncpg.Pool
    replica_pool: asyncpg.Pool
    queries: Queries
    bed_classes: list[BedClass]
    bed_class_codes: frozenset[str]
    stale_after: timedelta
    settings: Settings


def occupancy(capacity: int, available: int) -> Occupancy:
    occupied = capacity - available
    return Occupancy(capacity, occupied, available, bor(occupied, capacity))


def class_occupancy(bed_class: str, capacity: int, available: int) -> ClassOccupancy:
    occupied = capacity - available
    return ClassOccupancy(bed_class, capacity, occupied, available, bor(occupied, capacity))


def sum_classes(rows: Iterable[tuple[str, int, int]], order: Sequence[str]) -> list[ClassOccupancy]:
    """(bed_class, capacity, available) rows summed per class, in the vocabulary's order."""
    totals: dict[str, list[int]] = {}
    for bed_class, capacity, available in rows:
        entry = totals.setdefault(bed_class, [0, 0])
        entry[0] += capacity
        entry[1] += available
    rank = {code: index for index, code in enumerate(order)}
    return [
        class_occupancy(code, capacity, available)
        for code, (capacity, available) in sorted(
            totals.items(), key=lambda item: rank.get(item[0], len(rank))
        )
    ]


def _total(classes: Sequence[ClassOccupancy]) -> Occupancy:
    return occupancy(sum(c.capacity for c in classes), sum(c.available for c in classes))


def _hospital(row: SummaryRowsRow, now: datetime, stale_after: timedelta) -> HospitalOccupancy:
    """A hospital's row, its classes summed and ordered by PostgreSQL already."""
    classes = [
        class_occupancy(code, capacity, available)
        for code, capacity, available in zip(
            row.bed_classes, row.capacities, row.availables, strict=True
        )
    ]
    updated_at = row.updated_at
    return HospitalOccupancy(
        code=row.code,
        name=row.name,
        region_code=row.region_code,
        lat=row.lat,
        lon=row.lon,
        updated_at=updated_at,
        stale=updated_at is None or now - updated_at > stale_after,
        total=_total(classes),
        classes=classes,
    )


async def summary(
    pool: asyncpg.Pool,
    queries: Queries,
    region: str | None,
    class_order: Sequence[str],
    stale_after: timedelta,
    timeout_seconds: float,
) -> Summary:
    async with monitor_connection(pool, queries, timeout_seconds) as conn:
        rows = [row async for row in queries.summary_rows(conn, region_code=region)]
    now = datetime.now(UTC)
    hospitals = [_hospital(row, now, stale_after) for row in rows]
    region_classes = sum_classes(
        ((c.bed_class, c.capacity, c.available) for h in hospitals for c in h.classes),
        class_order,
    )
    return Summary(
        region=region,
        generated_at=now,
        total=_total(region_classes),
        classes=region_classes,
        hospitals=hospitals,
    )


async def stale(
    pool: asyncpg.Pool,
    queries: Queries,
    older_than: timedelta,
    region: str | None,
    timeout_seconds: float,
) -> StaleReport:
    async with monitor_connection(pool, queries, timeout_seconds) as conn:
        rows = [
            row async for row in queries.stale_rows(conn, older_than=older_than, region_code=region)
        ]
    hospitals: dict[str, StaleHospital] = {}
    for row in rows:
        hospital = hospitals.get(row.code)
        if hospital is None:
            hospital = hospitals[row.code] = StaleHospital(
                code=row.code,
                name=row.name,
                region_code=row.region_code,
                phone=row.phone,
                stale=row.hospital_stale is not False,
                last_report_at=row.hospital_reported_at,
                age_seconds=row.hospital_age_seconds,
                wards=[],
            )
        # An open ward's columns are NOT NULL: with its code come all of them.
        if (
            row.ward_code is not None
            and row.ward_name is not None
            and row.bed_class is not None
            and row.reported_at is not None
            and row.age_seconds is not None
        ):
            hospital.wards.append(
                StaleWard(
                    ward_code=row.ward_code,
                    name=row.ward_name,
                    bed_class=row.bed_class,
                    last_report_at=row.reported_at,
                    age_seconds=row.age_seconds,
                )
            )
    return StaleReport(
        older_than_seconds=int(older_than.total_seconds()),
        generated_at=datetime.now(UTC),
        hospitals=list(hospitals.values()),
    )
