from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Request, delete, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from bedsvc.auth import bearer_token
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed, check_report
from bedsvc.ingest.service import apply_report, close_ward
from bedsvc.services import Services, get_services


async def hospital_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """401 for no or unknown key, 404 for an unknown hospital, 403 for a key not its own
    (or revoked) and for an inactive hospital.

    A guard, so that it runs before the body is read: an unauthenticated caller learns
    nothing about what a valid report looks like.
    """
    services = get_services(connection.app.state)
    code = connection.path_params["hospital_code"]
    access = await services.keys.hospital_access(
        services.pool, services.queries, bearer_token(connection), code
    )
    access.require(code)
    connection.state.key_id = access.key.id


class IngestController(Controller):
    path = "/api/v1/hospitals/{hospital_code:str}"
    tags = ["hospital push"]
    guards = [hospital_key_guard]

    @post("/occupancy", status_code=200, summary="Report occupancy of one or more wards")
    async def push_occupancy(
        self,
        request: Request[Any, Any, Any],
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
        )
        written = await apply_report(
            services.pool,
            services.queries,
            services.sync,
            hospital_code,
            data,
            request.state.key_id,
            max_open_wards=settings.max_wards_per_hospital,
        )
        return written.result

    @delete("/wards/{ward_code:str}", status_code=200, summary="Close a ward")
    async def close(
        self,
        request: Request[Any, Any, Any],
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
            request.state.key_id,
        )
