"""One report is one transaction; the cache hears of it only after the commit."""

from __future__ import annotations

import asyncpg

from bedsvc.errors import NotFound
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed
from bedsvc.store import Conn, Queries
from bedsvc.sync import CacheSync, load_state


async def require_hospital_exists(conn: Conn, queries: Queries, code: str) -> None:
    if await queries.get_hospital(conn, code=code) is None:
        raise NotFound(f"No hospital with code '{code}'.")


def _report_columns(report: OccupancyReport) -> dict[str, list[object]]:
    wards = report.wards
    return {
        "ward_codes": [w.ward_code for w in wards],
        "names": [w.name or w.ward_code for w in wards],
        "bed_classes": [w.bed_class for w in wards],
        "capacities": [w.capacity for w in wards],
        "availables": [w.available for w in wards],
        "males": [w.available_male for w in wards],
        "females": [w.available_female for w in wards],
        "waitings": [w.waiting for w in wards],
    }


async def apply_report(
    pool: asyncpg.Pool,
    queries: Queries,
    sync: CacheSync,
    hospital_code: str,
    report: OccupancyReport,
    key_id: str | None,
) -> IngestResult:
    """Applies the wards whose stored report is older, returns only after the commit.

    Callers have authorized the hospital (and so found it); the wards' foreign key still
    refuses an unknown one, without a lookup of its own on every push.
    """
    async with pool.acquire() as conn:
        async with conn.transaction():
            version: int = await queries.lock_next_version(conn)
            try:
                applied = [
                    row["ward_code"]
                    async for row in queries.apply_report(
                        conn,
                        hospital_code=hospital_code,
                        version=version,
                        reported_at=report.reported_at,
                        **_report_columns(report),
                    )
                ]
            except asyncpg.ForeignKeyViolationError as exc:
                if exc.constraint_name != "wards_hospital_code_fkey":
                    raise
                raise NotFound(f"No hospital with code '{hospital_code}'.") from None
            if not applied:
                # Nothing changed: the version is not taken, so versions stay gapless.
                return IngestResult(
                    version=version - 1,
                    applied=[],
                    stale=[w.ward_code for w in report.wards],
                )
            await queries.record_history(
                conn,
                version=version,
                hospital_code=hospital_code,
                ward_codes=applied,
                change="report",
                key_id=key_id,
            )
            await queries.set_version(conn, version=version)
            state = await load_state(conn, queries, hospital_code, version)
        await sync.publish(hospital_code, version, state)
    applied_set = set(applied)
    return IngestResult(
        version=version,
        applied=[w.ward_code for w in report.wards if w.ward_code in applied_set],
        stale=[w.ward_code for w in report.wards if w.ward_code not in applied_set],
    )


async def close_ward(
    pool: asyncpg.Pool,
    queries: Queries,
    sync: CacheSync,
    hospital_code: str,
    ward_code: str,
    key_id: str | None,
) -> WardClosed:
    async with pool.acquire() as conn:
        async with conn.transaction():
            version: int = await queries.lock_next_version(conn)
            closed = await queries.close_ward(
                conn, hospital_code=hospital_code, ward_code=ward_code, version=version
            )
            if closed is None:
                raise NotFound(f"No open ward '{ward_code}' at hospital '{hospital_code}'.")
            await queries.record_history(
                conn,
                version=version,
                hospital_code=hospital_code,
                ward_codes=[ward_code],
                change="close",
                key_id=key_id,
            )
            await queries.set_version(conn, version=version)
            state = await load_state(conn, queries, hospital_code, version)
        await sync.publish(hospital_code, version, state)
    return WardClosed(version=version, ward_code=ward_code, closed=True)
