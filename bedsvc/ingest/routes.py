from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from bedsvc.access.actor import Actor, attribution
from bedsvc.access.guards import hospital_actor_guard
from bedsvc.errors import problem_responses
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed, check_report
from bedsvc.ingest.service import apply_report, close_ward
from bedsvc.services import Services


class IngestController(Controller):
    path = "/api/v1/hospitals/{hospital_code:str}"
    tags = ["hospital push"]
    guards = [hospital_actor_guard]

    @post(
        "/occupancy",
        status_code=200,
        summary="Report occupancy of one or more wards",
        responses=problem_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def push_occupancy(
        self,
        actor: NamedDependency[Actor],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
        data: JSONBody[OccupancyReport],
    ) -> IngestResult:
        """Acknowledged only after PostgreSQL committed. A ward whose stored report is as new
        or newer is listed in `stale` and left unchanged."""
        settings = services.settings
        check_report(
            data,
            services.bed_class_codes,
            now=datetime.now(UTC),
            max_future=timedelta(seconds=settings.max_future_seconds),
            max_wards=settings.max_wards_per_report,
            max_capacity=settings.max_ward_capacity,
            max_age=timedelta(seconds=settings.max_report_age_seconds),
        )
        written = await apply_report(
            services.pool,
            services.queries,
            services.sync,
            hospital_code,
            data,
            max_open_wards=settings.max_wards_per_hospital,
            **attribution(actor),
        )
        return written.result

    @delete(
        "/wards/{ward_code:str}",
        status_code=200,
        summary="Close a ward",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def close(
        self,
        actor: NamedDependency[Actor],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
        ward_code: FromPath[str],
    ) -> WardClosed:
        """The ward disappears from availability until a newer report lists it again."""
        return await close_ward(
            services.pool,
            services.queries,
            services.sync,
            hospital_code,
            ward_code,
            **attribution(actor),
        )
