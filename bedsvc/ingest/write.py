"""A report written by one statement (its own transaction), and a ward closed; the cache
hears of it after the commit.

The write takes no lock that another hospital's report could wait on: its own hospital's
row, whose version orders the reports of that hospital, then the wards it upserts.
"""

from __future__ import annotations

from typing import NamedTuple

import asyncpg

from bedsvc.errors import BedsvcError, NotFound, inactive_hospital, invalid, unknown_hospital
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed
from bedsvc.state.cache import HospitalAt
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries
from bedsvc.store.db import Conn
from bedsvc.store.queries import WriteReportRow, WriteReportsRow
from bedsvc.store.states import load_state, state_from_row


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
        refused = refusal(hospital_code, row.active, row.open_wards, max_open_wards)
        if refused is not None:
            raise refused
        if only_open and row.missing:
            raise NotFound("No such open ward.")
        written = outcome(report, row.version, row.applied, row.id_t_tts)
        if not row.applied:
            return written
        changed = await state_after(conn, queries, hospital_code, row)
    await sync.publish(*changed)
    return written


def refusal(
    hospital_code: str, active: bool, open_wards: int, max_open_wards: int
) -> BedsvcError | None:
    """Why the statement wrote nothing of a report, as the push is answered; None if it did
    not refuse it."""
    if not active:
        return inactive_hospital(hospital_code)
    if open_wards > max_open_wards:
        return invalid(
            "wards",
            f"the hospital would have {open_wards} open wards; "
            f"at most {max_open_wards} are allowed (close unused wards first)",
        )
    return None


def outcome(
    report: OccupancyReport, version: int, applied: list[str], id_t_tts: list[int]
) -> Written:
    """The answer to a report the statement took, the wards in the report's order."""
    applied_set = set(applied)
    return Written(
        # The hospital's version after this report, or as it was when nothing was newer.
        IngestResult(
            version=version,
            applied=[w.ward_code for w in report.wards if w.ward_code in applied_set],
            stale=[w.ward_code for w in report.wards if w.ward_code not in applied_set],
        ),
        dict(zip(applied, id_t_tts, strict=True)),
    )


async def state_after(
    conn: Conn, queries: Queries, code: str, row: WriteReportRow | WriteReportsRow
) -> HospitalAt:
    """The hospital's state after a report that applied wards, for the cache."""
    if row.snapshot_version is not None and row.version == row.snapshot_version + 1:
        # Nothing else of the hospital committed in between: the state the statement built is
        # the state at this version.
        return HospitalAt(code, row.version, state_from_row(row))
    # Read after the commit, so it holds every change of the hospital committed before, this
    # one's included (and maybe a newer one, with its own version).
    return HospitalAt(code, *await load_state(conn, queries, code))


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
