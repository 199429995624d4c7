"""What both bridges read and write: a hospital's open wards, and one ward's report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec

from bedsvc.bridges.service import BridgeService
from bedsvc.errors import InvalidInput
from bedsvc.ingest.schemas import OccupancyReport, WardReport, check_report
from bedsvc.ingest.write import Written, apply_report


class BridgeWard(msgspec.Struct, frozen=True):
    id_t_tt: int
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    received_at: datetime


async def open_wards(bridges: BridgeService, hospital_code: str) -> list[BridgeWard]:
    async with bridges.pool.acquire() as conn:
        return [
            msgspec.convert(row, BridgeWard, from_attributes=True)
            async for row in bridges.queries.bridge_wards(conn, hospital_code=hospital_code)
        ]


def local_time(moment: datetime, offset_hours: int) -> str:
    """SIMRS show the bridge's times as they are, so they come in the region's local time."""
    zone = timezone(timedelta(hours=offset_hours))
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


async def write_ward(
    bridges: BridgeService,
    hospital_code: str,
    ward: WardReport,
    reported_at: datetime,
    key_id: str,
    *,
    only_open: bool = False,
) -> Written:
    """One ward through the same rules and statement as the native push API."""
    report = OccupancyReport(reported_at=reported_at, wards=[ward])
    settings = bridges.settings
    try:
        check_report(
            report,
            bridges.bed_class_codes,
            now=datetime.now(UTC),
            max_future=timedelta(seconds=settings.ingest.max_future_seconds),
            max_wards=settings.ingest.max_wards_per_report,
            max_capacity=settings.ingest.max_ward_capacity,
            max_age=timedelta(seconds=settings.ingest.max_report_age_seconds),
        )
    except InvalidInput as exc:
        # The bridges check their own fields first; this only catches what they let through.
        raise InvalidInput(f"Data tidak valid: {exc.detail}", exc.errors) from None
    return await apply_report(
        bridges.pool,
        bridges.queries,
        bridges.sync,
        hospital_code,
        report,
        key_id,
        max_open_wards=settings.ingest.max_wards_per_hospital,
        only_open=only_open,
    )
