"""The relay rows (sql/queries/relay.sql) as typed values: claims, what to send, outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import msgspec

from bedsvc.store.db import Conn
from bedsvc.store.queries import FailingRelaysRow, Queries, RelayStatusRow


class Claim(msgspec.Struct, frozen=True):
    """A relay one worker holds for its lease."""

    hospital_code: str
    registry: str
    login: str
    secret_enc: bytes
    credential_set_at: datetime
    failures: int
    min_stamp: int
    sent_keys: dict[str, list[int | str]]


class RelayWard(msgspec.Struct, frozen=True):
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    open: bool


class RelayHospital(msgspec.Struct, frozen=True):
    """A hospital's wards as one snapshot has them, at `version`."""

    version: int
    bpjs_ppk_code: str | None
    read_at: datetime
    wards: list[RelayWard]


async def set_credential(
    conn: Conn, queries: Queries, hospital_code: str, registry: str, login: str, secret: bytes
) -> None:
    await queries.set_relay_credential(
        conn, hospital_code=hospital_code, registry=registry, login=login, secret_enc=secret
    )


async def clear_credential(conn: Conn, queries: Queries, hospital_code: str, registry: str) -> bool:
    """False when the hospital had no credential for that registry."""
    cleared = await queries.clear_relay_credential(
        conn, hospital_code=hospital_code, registry=registry
    )
    return cleared is not None


async def claim(
    pool: asyncpg.Pool, queries: Queries, registries: Sequence[str], batch: int, lease: float
) -> list[Claim]:
    async with pool.acquire() as conn:
        return [
            msgspec.convert(row, Claim, from_attributes=True)
            async for row in queries.claim_relays(
                conn, registries=list(registries), batch=batch, lease=lease
            )
        ]


async def hospital(conn: Conn, queries: Queries, hospital_code: str) -> RelayHospital | None:
    row = await queries.relay_hospital(conn, hospital_code=hospital_code)
    return None if row is None else msgspec.convert(row, RelayHospital, from_attributes=True)


async def sent(
    conn: Conn,
    queries: Queries,
    claimed: Claim,
    state: RelayHospital,
    min_stamp: int,
    min_interval: float,
    sent_keys: dict[str, list[int | str]],
) -> None:
    await queries.relay_sent(
        conn,
        hospital_code=claimed.hospital_code,
        registry=claimed.registry,
        credential_set_at=claimed.credential_set_at,
        version=state.version,
        state_at=state.read_at,
        min_stamp=min_stamp,
        min_interval=min_interval,
        sent_keys=sent_keys,
    )


async def recovered(conn: Conn, queries: Queries, registry: str) -> None:
    await queries.relay_recovered(conn, registry=registry)


async def failed(
    conn: Conn,
    queries: Queries,
    claimed: Claim,
    error: str,
    detail: str,
    retry_in: float,
    refused: bool,
    min_stamp: int,
) -> None:
    await queries.relay_failed(
        conn,
        hospital_code=claimed.hospital_code,
        registry=claimed.registry,
        credential_set_at=claimed.credential_set_at,
        error=error,
        detail=detail,
        retry_in=retry_in,
        refused=refused,
        min_stamp=min_stamp,
    )


async def status(conn: Conn, queries: Queries, hospital_code: str | None) -> list[RelayStatusRow]:
    return [row async for row in queries.relay_status(conn, hospital_code=hospital_code)]


async def lag(conn: Conn, queries: Queries, registries: Sequence[str]) -> dict[str, float]:
    return {
        row.registry: row.lag_seconds
        async for row in queries.relay_lag(conn, registries=list(registries))
    }


async def failing(
    conn: Conn, queries: Queries, registries: Sequence[str], older_than: timedelta
) -> list[FailingRelaysRow]:
    rows = queries.failing_relays(conn, registries=list(registries), older_than=older_than)
    return [row async for row in rows]
