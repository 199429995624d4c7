"""One report is one statement (its own transaction); the cache hears of it after the commit.

The write takes no lock that another hospital's report could wait on: the wards it upserts
and its own hospital's row, whose version orders the reports of that hospital.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import asyncpg

from bedsvc.access.actor import Actor, attribution
from bedsvc.errors import NotFound, inactive_hospital, invalid, unknown_hospital
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed, check_report
from bedsvc.settings import IngestSettings
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries
from bedsvc.store.states import HospitalState, load_state, state_from_row


class Written(NamedTuple):
    """What the write answers, and the SIRS row numbers of the wards it applied."""

    result: IngestResult
    id_t_tts: dict[str, int]


def _report_columns(report: OccupancyReport) -> dict[str, list[object]]:
    wards = report.wards
    return {
        "ward_codes": [w.ward_code for w in wards],
        "names": [w.name for w in wards],
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
    key_id: str | None = None,
    *,
    max_open_wards: int,
    only_open: bool = False,
    username: str | None = None,
) -> Written:
    """Applies the wards whose stored report is older; returns only after the commit.

    With `only_open`, every ward must be open already (else NotFound, nothing written).
    Callers have authorized the hospital; the wards' foreign key still refuses an unknown
    one, and the statement an inactive one. The history rows name the key or the user.
    """
    async with pool.acquire() as conn:
        try:
            row = await queries.write_report(
                conn,
                hospital_code=hospital_code,
                reported_at=report.reported_at,
                only_open=only_open,
                max_open_wards=max_open_wards,
                key_id=key_id,
                username=username,
                **_report_columns(report),
            )
        except asyncpg.ForeignKeyViolationError as exc:
            if exc.constraint_name != "wards_hospital_code_fkey":
                raise
            raise unknown_hospital(hospital_code) from None
        if row is None:
            raise RuntimeError("write_report answers one row")
        if not row.active:
            raise inactive_hospital(hospital_code)
        if row.open_wards > max_open_wards:
            raise invalid(
                "wards",
                f"the hospital would have {row.open_wards} open wards; "
                f"at most {max_open_wards} are allowed (close unused wards first)",
            )
        if only_open and row.missing:
            raise NotFound("No such open ward.")
        applied: list[str] = row.applied
        applied_set = set(applied)
        written = Written(
            # The hospital's version after this report, or as it was when nothing was newer.
            IngestResult(
                version=row.version,
                applied=[w.ward_code for w in report.wards if w.ward_code in applied_set],
                stale=[w.ward_code for w in report.wards if w.ward_code not in applied_set],
            ),
            dict(zip(applied, row.id_t_tts, strict=True)),
        )
        if not applied:
            return written
        version: int = row.version
        state: HospitalState | None
        if row.snapshot_version is not None and version == row.snapshot_version + 1:
            # Nothing else of the hospital committed in between: the state the statement
            # built is the state at this version.
            state = state_from_row(row)
        else:
            # Read after the commit, so it holds every change of the hospital committed
            # before, this one's included (and maybe a newer one, with its own version).
            version, state = await load_state(conn, queries, hospital_code)
    await sync.publish(hospital_code, version, state)
    return written


@dataclass(frozen=True, slots=True)
class IngestService:
    """What a push needs, built once per worker: the pool, the named queries, the cache's
    write-through, the report rules' settings and the bed classes a report may name."""

    pool: asyncpg.Pool
    queries: Queries
    sync: CacheSync
    limits: IngestSettings
    bed_class_codes: frozenset[str]

    async def take_report(
        self, hospital_code: str, report: OccupancyReport, actor: Actor
    ) -> IngestResult:
        """A native push once its caller is authorized and its body read: the route and its
        fast path (bedsvc/ingest/fastpath.py) both answer with this."""
        limits = self.limits
        check_report(
            report,
            self.bed_class_codes,
            now=datetime.now(UTC),
            max_future=timedelta(seconds=limits.max_future_seconds),
            max_wards=limits.max_wards_per_report,
            max_capacity=limits.max_ward_capacity,
            max_age=timedelta(seconds=limits.max_report_age_seconds),
        )
        written = await apply_report(
            self.pool,
            self.queries,
            self.sync,
            hospital_code,
            report,
            max_open_wards=limits.max_wards_per_hospital,
            **attribution(actor),
        )
        return written.result

    async def close_ward(self, hospital_code: str, ward_code: str, actor: Actor) -> WardClosed:
        return await close_ward(
            self.pool, self.queries, self.sync, hospital_code, ward_code, **attribution(actor)
        )


async def close_ward(
    pool: asyncpg.Pool,
    queries: Queries,
    sync: CacheSync,
    hospital_code: str,
    ward_code: str,
    key_id: str | None = None,
    username: str | None = None,
) -> WardClosed:
    async with pool.acquire() as conn:
        closed = await queries.close_ward(
            conn,
            hospital_code=hospital_code,
            ward_code=ward_code,
            key_id=key_id,
            username=username,
        )
        if closed is None:
            raise RuntimeError("close_ward answers one row")
        if not closed.active:
            raise inactive_hospital(hospital_code)
        if closed.version is None:
            raise NotFound(f"No open ward '{ward_code}' at hospital '{hospital_code}'.")
        version, state = await load_state(conn, queries, hospital_code)
    await sync.publish(hospital_code, version, state)
    return WardClosed(version=closed.version, ward_code=ward_code, closed=True)
