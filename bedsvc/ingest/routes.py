from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Request, delete, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody

from bedsvc.auth import bearer_token, find_key, require_hospital
from bedsvc.errors import problem_responses
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed, check_report
from bedsvc.ingest.service import apply_report, close_ward, require_hospital_exists
from bedsvc.services import Services, get_services


async def hospital_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """401 for no or unknown key, 404 for an unknown hospital, 403 for a key not its own.

    A guard, so that it runs before the body is read: an unauthenticated caller learns
    nothing about what a valid report looks like.
    """
    services = get_services(connection.app.state)
    code = connection.path_params["hospital_code"]
    token = bearer_token(connection)
    async with services.pool.acquire() as conn:
        key = await find_key(conn, services.queries, token)
        await require_hospital_exists(conn, services.queries, code)
    require_hospital(key, code)
    connection.state.key_id = key.id


class IngestController(Controller):
    path = "/api/v1/hospitals/{hospital_code:str}"
    tags = ["hospital push"]
    guards = [hospital_key_guard]

    @post(
        "/occupancy",
        status_code=200,
        summary="Report occupancy of one or more wards",
        responses=problem_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
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
        return await apply_report(
            services.pool,
            services.queries,
            services.sync,
            hospital_code,
            data,
            request.state.key_id,
        )

    @delete(
        "/wards/{ward_code:str}",
        status_code=200,
        summary="Close a ward",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
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
