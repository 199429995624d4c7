from __future__ import annotations

import re
from typing import Annotated, Any

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from bedsvc.access.guards import monitor_key_guard
from bedsvc.errors import invalid, unknown_hospital
from bedsvc.monitor import exports
from bedsvc.monitor.alerts import list_alerts
from bedsvc.monitor.budget import unless_disconnected
from bedsvc.monitor.history import (
    Budget,
    HistoryFilter,
    check_size,
    history,
    history_csv,
    read_spool,
)
from bedsvc.monitor.params import MAX_JSON_BUCKETS, parse_duration, time_range
from bedsvc.monitor.schemas import AlertListed, History, HospitalOccupancy, StaleReport, Summary
from bedsvc.monitor.service import MonitorService, stale, summary
from bedsvc.problems import problem_responses
from bedsvc.text import CODE_PATTERN

# Operators hold admin keys and stand in for the health office when it calls them in.

# Codes of hospitals, regions and classes; anything else cannot match and is refused (422).
Code = Annotated[str | None, QueryParameter(max_length=32, pattern=CODE_PATTERN)]
# What parse_duration accepts, for the schema; a bucket is at least a minute.
DURATION_PATTERN = r"^[1-9][0-9]{0,5}[smhd]$"
BUCKET_PATTERN = r"^([6-9][0-9]|[1-9][0-9]{2,5})s$|^[1-9][0-9]{0,5}[mhd]$"
Bucket = Annotated[str, QueryParameter(pattern=BUCKET_PATTERN)]


def _check_class(monitor: MonitorService, bed_class: str | None) -> None:
    if bed_class is not None and bed_class not in monitor.bed_class_codes:
        raise invalid("bed_class", f"unknown bed class '{bed_class}'")


async def _summary(pool: asyncpg.Pool, monitor: MonitorService, region: str | None) -> Summary:
    return await summary(
        pool,
        monitor.queries,
        region,
        [c.code for c in monitor.bed_classes],
        monitor.stale_after,
        monitor.settings.monitor.monitor_statement_timeout_seconds,
    )


async def _hospitals(
    monitor: MonitorService, region: str | None, hospital: str | None
) -> tuple[Summary, list[HospitalOccupancy]]:
    result = await _summary(monitor.replica_pool, monitor, region)
    if hospital is None:
        return result, result.hospitals
    chosen = [h for h in result.hospitals if h.code == hospital]
    if not chosen:
        raise unknown_hospital(hospital)
    return result, chosen


class MonitorController(Controller):
    path = "/api/v1/monitor"
    tags = ["health office"]
    guards = [monitor_key_guard]

    @get(
        "/summary",
        summary="Beds, occupancy and BOR per class, hospital and region",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def summary(
        self,
        request: Request[Any, Any, Any],
        monitor: NamedDependency[MonitorService],
        region: Code = None,
    ) -> Summary:
        """BOR (bed occupancy rate) = occupied / capacity, over open wards; null without beds."""
        return await unless_disconnected(request, _summary(monitor.pool, monitor, region))

    @get(
        "/stale",
        summary="Hospitals and wards without a recent report",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def stale(
        self,
        request: Request[Any, Any, Any],
        monitor: NamedDependency[MonitorService],
        older_than: Annotated[
            str | None,
            QueryParameter(
                description="e.g. 30m, 2h, 1d; default: the stale limit", pattern=DURATION_PATTERN
            ),
        ] = None,
        region: Code = None,
    ) -> StaleReport:
        """Hospitals whose newest report (or any open ward's report) is older than `older_than`,
        oldest first; a hospital that never reported has no `last_report_at`."""
        threshold = parse_duration("older_than", older_than) if older_than else monitor.stale_after
        timeout = monitor.settings.monitor.monitor_statement_timeout_seconds
        work = stale(monitor.pool, monitor.queries, threshold, region, timeout)
        return await unless_disconnected(request, work)

    @get(
        "/history",
        summary="Occupancy over time per hospital and class",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def history(
        self,
        request: Request[Any, Any, Any],
        monitor: NamedDependency[MonitorService],
        hospital: Code = None,
        region: Code = None,
        bed_class: Code = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        stop: Annotated[str | None, QueryParameter(name="to")] = None,
        bucket: Bucket = "1h",
    ) -> History:
        """Each point is the state at the end of its bucket: a hospital that did not report in
        a bucket carries its last known value forward; a closed ward no longer counts. At most
        `BEDSVC_MONITOR_MAX_POINTS` points (series x buckets) in one answer (422 past it)."""
        _check_class(monitor, bed_class)
        span = time_range(start, stop, bucket)
        if span.buckets > MAX_JSON_BUCKETS:
            raise invalid(
                "bucket",
                f"{span.buckets} buckets; at most {MAX_JSON_BUCKETS} here, "
                "use a larger bucket or export.csv",
            )
        settings = monitor.settings
        flt = HistoryFilter(hospital, region, bed_class, settings.server.timezone)
        budget = Budget(
            settings.monitor.monitor_max_points,
            settings.monitor.monitor_statement_timeout_seconds,
            "points",
        )
        work = history(monitor.replica_pool, monitor.queries, span, flt, budget)
        return await unless_disconnected(request, work)

    @get(
        "/export.csv",
        summary="The history as CSV (streamed)",
        media_type="text/csv",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def export_csv(
        self,
        request: Request[Any, Any, Any],
        monitor: NamedDependency[MonitorService],
        hospital: Code = None,
        region: Code = None,
        bed_class: Code = None,
        start: Annotated[str | None, QueryParameter(name="from")] = None,
        stop: Annotated[str | None, QueryParameter(name="to")] = None,
        bucket: Bucket = "1h",
    ) -> Stream:
        """Columns: bucket_start, hospital_code, bed_class, capacity, occupied, available, bor.
        At most `BEDSVC_MONITOR_MAX_EXPORT_ROWS` rows (422 past it)."""
        _check_class(monitor, bed_class)
        span = time_range(start, stop, bucket)
        settings = monitor.settings
        flt = HistoryFilter(hospital, region, bed_class, settings.server.timezone)
        budget = Budget(
            settings.monitor.monitor_max_export_rows,
            settings.monitor.monitor_statement_timeout_seconds,
            "rows",
        )
        await check_size(monitor.replica_pool, monitor.queries, span, flt, budget)
        work = history_csv(monitor.replica_pool, monitor.queries, span, flt, budget)
        spool = await unless_disconnected(request, work)
        name = f"bedsvc-history-{span.start:%Y%m%d}-{span.stop:%Y%m%d}.csv"
        return Stream(
            read_spool(spool),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/export/edxl-have.xml",
        summary="Current beds as an OASIS EDXL-HAVE 1.0 HospitalStatus document",
        media_type="application/xml",
        responses=problem_responses(401, 403, 404, 422, 429, 503),
    )
    async def edxl_have(
        self, monitor: NamedDependency[MonitorService], region: Code = None, hospital: Code = None
    ) -> Response[bytes]:
        """One Hospital per reporting hospital, one BedCapacity per EDXL bed type."""
        _, hospitals = await _hospitals(monitor, region, hospital)
        vocabulary = {c.code: c for c in monitor.bed_classes}
        return Response(exports.edxl_have(hospitals, vocabulary), media_type="application/xml")

    @get(
        "/export/fhir-measurereport.json",
        summary="Current beds as a FHIR R4 MeasureReport (SANER bed capacity)",
        media_type="application/fhir+json",
        responses=problem_responses(401, 403, 404, 422, 429, 503),
    )
    async def fhir_measure_report(
        self, monitor: NamedDependency[MonitorService], region: Code = None, hospital: Code = None
    ) -> Response[dict[str, Any]]:
        """For one hospital with `hospital=`, otherwise the region's (or every region's) total."""
        result, hospitals = await _hospitals(monitor, region, hospital)
        vocabulary = {c.code: c for c in monitor.bed_classes}
        stamp = f"{result.generated_at:%Y%m%dT%H%M%S}"
        # FHIR ids allow letters, digits, '-' and '.' only.
        report_id = re.sub(r"[^A-Za-z0-9.\-]", "-", f"beds-{hospital or region or 'all'}-{stamp}")
        if hospital is not None:
            [chosen] = hospitals
            subject = exports.hospital_subject(chosen)
            classes = chosen.classes
        else:
            subject = exports.region_subject(region)
            classes = result.classes
        body = exports.measure_report(report_id, subject, classes, vocabulary, result.generated_at)
        return Response(body, media_type="application/fhir+json")

    @get(
        "/alerts",
        summary="Alerts, open ones first",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def alerts(
        self,
        monitor: NamedDependency[MonitorService],
        open_only: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[AlertListed]:
        return await list_alerts(monitor.pool, monitor.queries, open_only, limit)
