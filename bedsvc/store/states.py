"""Current availability as PostgreSQL has it: hospital states and their versions.

`HospitalState` is what the cache holds per hospital (every open ward, as PostgreSQL has it);
the public views are derived from it. PostgreSQL builds it with one function,
hospital_state() (sql/migrations/013_hospital_state_json.sql), for the hospital_states view
and for write_report and write_reports alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg
import msgspec

from bedsvc.store.db import Conn
from bedsvc.store.queries import Queries


class WardState(msgspec.Struct, frozen=True):
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    reported_at: datetime
    received_at: datetime


class HospitalState(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    region_code: str
    address: str
    phone: str
    lat: float | None
    lon: float | None
    version: int
    wards: list[WardState]


class Snapshot(msgspec.Struct, frozen=True):
    """Every listed hospital, and the version of every hospital (listed or not), taken at one
    moment. The sum of `versions` is the global version."""

    states: list[HospitalState]
    versions: dict[str, int]


def state_from_row(row: msgspec.Struct) -> HospitalState:
    """A listed hospital's row (of hospital_state, hospital_states, all_hospital_states or
    write_report) as the cache holds it; its wards come as jsonb and are checked here."""
    return msgspec.convert(row, HospitalState, from_attributes=True)


async def load_state(conn: Conn, queries: Queries, code: str) -> tuple[int, HospitalState | None]:
    """The hospital's version and state (None when it is not listed); (0, None) if unknown."""
    row = await queries.hospital_state(conn, code=code)
    if row is None:
        return 0, None
    return row.version, None if row.wards is None else state_from_row(row)


async def load_states(conn: Conn, queries: Queries, codes: Iterable[str]) -> list[HospitalState]:
    """The listed ones of these hospitals."""
    return [state_from_row(row) async for row in queries.hospital_states(conn, codes=list(codes))]


async def load_versions(conn: Conn, queries: Queries) -> dict[str, int]:
    return {row.code: row.version async for row in queries.hospital_versions(conn)}


async def load_snapshot(pool: asyncpg.Pool, queries: Queries) -> Snapshot:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        versions = await load_versions(conn, queries)
        states = [state_from_row(row) async for row in queries.all_hospital_states(conn)]
    return Snapshot(states=states, versions=versions)
