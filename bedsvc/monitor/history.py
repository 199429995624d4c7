"""Occupancy over time, bucketed in PostgreSQL, as JSON series or as a streamed CSV."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import asyncpg

from bedsvc.errors import invalid
from bedsvc.monitor.budget import monitor_connection
from bedsvc.monitor.params import TimeRange
from bedsvc.monitor.schemas import History, HistoryPoint, HistorySeries, bor
from bedsvc.store import Queries
from bedsvc.store.queries import HistoryRowsRow

CSV_HEADER = (
    "bucket_start",
    "hospital_code",
    "bed_class",
    "capacity",
    "occupied",
    "available",
    "bor",
)
# Rows the cursor fetches per round trip.
_CHUNK_ROWS = 2000
# An export is kept in memory up to this size, past it in a temporary file.
SPOOL_MEMORY_BYTES = 1 << 20
_SEND_BYTES = 64 << 10


class HistoryFilter:
    def __init__(
        self, hospital: str | None, region: str | None, bed_class: str | None, timezone: str
    ) -> None:
        self.hospital, self.region, self.bed_class = hospital, region, bed_class
        # Buckets of a day or more start at local midnight.
        self.origin = datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone))

    def scope(self) -> dict[str, Any]:
        return {
            "hospital_code": self.hospital,
            "region_code": self.region,
            "bed_class": self.bed_class,
        }

    def params(self, span: TimeRange) -> dict[str, Any]:
        return {
            "bucket": span.bucket,
            "origin": self.origin,
            "start": span.start,
            "stop": span.stop,
            "hospital_code": self.hospital,
            "region_code": self.region,
            "bed_class": self.bed_class,
        }


class Budget:
    """The most rows (series x buckets) an answer may hold, and the queries' time limit."""

    def __init__(self, max_rows: int, timeout_seconds: float, what: str) -> None:
        self.max_rows, self.timeout_seconds, self.what = max_rows, timeout_seconds, what

    def too_many(self, rows: int) -> Exception:
        return invalid(
            "bucket",
            f"about {rows} {self.what}; at most {self.max_rows} in one answer: use a larger "
            "bucket, a shorter range, or one region, hospital or bed class",
        )


async def check_size(
    pool: asyncpg.Pool, queries: Queries, span: TimeRange, flt: HistoryFilter, budget: Budget
) -> None:
    """Refuses (422) before running it a query whose answer would exceed the budget."""
    async with monitor_connection(pool, queries, budget.timeout_seconds) as conn:
        series: int = await queries.history_series_count(conn, **flt.scope())
    if series * span.buckets > budget.max_rows:
        raise budget.too_many(series * span.buckets)


async def history(
    pool: asyncpg.Pool, queries: Queries, span: TimeRange, flt: HistoryFilter, budget: Budget
) -> History:
    await check_size(pool, queries, span, flt, budget)
    series: dict[tuple[str, str], list[HistoryPoint]] = {}
    rows = 0
    async with monitor_connection(pool, queries, budget.timeout_seconds) as conn:
        async for row in queries.history_rows(conn, **flt.params(span)):
            rows += 1
            if rows > budget.max_rows:  # wards that changed class add series the count missed
                raise budget.too_many(rows)
            point = HistoryPoint(
                t=row.bucket_start,
                capacity=row.capacity,
                occupied=row.occupied,
                available=row.available,
                bor=bor(row.occupied, row.capacity),
            )
            series.setdefault((row.hospital_code, row.bed_class), []).append(point)
    return History(
        start=span.start,
        stop=span.stop,
        bucket_seconds=int(span.bucket.total_seconds()),
        series=[
            HistorySeries(hospital=hospital, bed_class=bed_class, points=points)
            for (hospital, bed_class), points in sorted(series.items())
        ],
    )


def _csv_chunk(rows: list[tuple[object, ...]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def _csv_row(row: HistoryRowsRow) -> tuple[object, ...]:
    ratio = bor(row.occupied, row.capacity)
    return (
        row.bucket_start.isoformat(),
        row.hospital_code,
        row.bed_class,
        row.capacity,
        row.occupied,
        row.available,
        "" if ratio is None else ratio,
    )


async def history_csv(
    pool: asyncpg.Pool, queries: Queries, span: TimeRange, flt: HistoryFilter, budget: Budget
) -> IO[bytes]:
    """The history rows as CSV in a temporary file (in memory up to a bound, then on disk),
    read through a server-side cursor, a chunk per round trip.

    The file is written in full before the first byte is sent: the database connection and
    its transaction are held for as long as PostgreSQL takes, never at the pace of a client
    that reads slowly or not at all; and a file over the budget is still a clear 422."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
    try:
        spool.write(_csv_chunk([CSV_HEADER]))
        rows = 0
        async with (
            monitor_connection(pool, queries, budget.timeout_seconds) as conn,
            queries.history_rows_cursor(conn, **flt.params(span)) as cursor,
        ):
            while batch := await cursor.fetch(_CHUNK_ROWS):
                rows += len(batch)
                if rows > budget.max_rows:  # wards that changed class add series the count missed
                    raise budget.too_many(rows)
                spool.write(_csv_chunk([_csv_row(row) for row in batch]))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


async def read_spool(spool: IO[bytes]) -> AsyncIterator[bytes]:
    """The file's bytes in chunks, closed (and so deleted) when done or abandoned."""
    try:
        while chunk := spool.read(_SEND_BYTES):
            yield chunk
    finally:
        spool.close()
