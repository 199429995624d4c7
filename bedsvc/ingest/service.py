"""What a native push does once its caller is authorized and its body read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bedsvc.access.actor import Actor, attribution
from bedsvc.ingest.batches import ReportWriter
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed, check_report
from bedsvc.ingest.write import close_ward
from bedsvc.settings import IngestSettings
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries


@dataclass(frozen=True, slots=True)
class IngestService:
    """What a push needs, built once per worker: the pool, the named queries, the cache's
    write-through, the report rules' settings, the bed classes a report may name and the
    worker's report writer."""

    pool: asyncpg.Pool
    queries: Queries
    sync: CacheSync
    limits: IngestSettings
    bed_class_codes: frozenset[str]
    writer: ReportWriter

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
        written = await self.writer.write(hospital_code, report, **attribution(actor))
        return written.result

    async def close_ward(self, hospital_code: str, ward_code: str, actor: Actor) -> WardClosed:
        return await close_ward(
            self.pool, self.queries, self.sync, hospital_code, ward_code, **attribution(actor)
        )
