"""Occupancy over time, bucketed in PostgreSQL, as JSON series or as a streamed CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bedsvc.monitor.params import TimeRange
from bedsvc.monitor.schemas import History, HistoryPoint, HistorySeries, bor
from bedsvc.store import Queries

CSV_HEADER = (
    "bucket_start",
    "hospital_code",
    "bed_class",
    "capacity",
    "occupied",
    "available",
    "bor",
)
# Rows per chunk sent to the client, and rows the cursor fetches per round trip.
_CHUNK_ROWS = 2000


class HistoryFilter:
    def __init__(
        self, hospital: str | None, region: str | None, bed_class: str | None, timezone: str
    ) -> None:
        self.hospital, self.region, self.bed_class = hospital, region, bed_class
        # Buckets of a day or more start at local midnight.
        self.origin = datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone))

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


async def history(
    pool: asyncpg.Pool, queries: Queries, span: TimeRange, flt: HistoryFilter
) -> History:
    series: dict[tuple[str, str], list[HistoryPoint]] = {}
    async with pool.acquire() as conn:
        async for row in queries.history_rows(conn, **flt.params(span)):
            point = HistoryPoint(
                t=row["bucket_start"],
                capacity=row["capacity"],
                occupied=row["occupied"],
                available=row["available"],
                bor=bor(row["occupied"], row["capacity"]),
            )
            series.setdefault((row["hospital_code"], row["bed_class"]), []).append(point)
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


def _csv_row(row: asyncpg.Record) -> tuple[object, ...]:
    ratio = bor(row["occupied"], row["capacity"])
    return (
        row["bucket_start"].isoformat(),
        row["hospital_code"],
        row["bed_class"],
        row["capacity"],
        row["occupied"],
        row["available"],
        "" if ratio is None else ratio,
    )


async def history_csv(
    pool: asyncpg.Pool, queries: Queries, span: TimeRange, flt: HistoryFilter
) -> AsyncIterator[bytes]:
    """The history rows as CSV, read through a server-side cursor in a transaction, a chunk
    per round trip, so that a month of per-minute buckets never sits in memory at once."""
    yield _csv_chunk([CSV_HEADER])
    async with (
        pool.acquire() as conn,
        queries.history_rows_cursor(conn, **flt.params(span)) as cursor_factory,
    ):
        cursor = await cursor_factory
        while batch := await cursor.fetch(_CHUNK_ROWS):
            yield _csv_chunk([_csv_row(row) for row in batch])
