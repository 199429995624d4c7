from __future__ import annotations

from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from bedsvc.access.actor import Actor
from bedsvc.access.guards import hospital_actor_guard
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardClosed
from bedsvc.ingest.service import IngestService
from bedsvc.problems import problem_responses


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
        ingest: NamedDependency[IngestService],
        hospital_code: FromPath[str],
        data: JSONBody[OccupancyReport],
    ) -> IngestResult:
        """Acknowledged only after PostgreSQL committed. A ward whose stored report is as new
        or newer is listed in `stale` and left unchanged."""
        return await ingest.take_report(hospital_code, data, actor)

    @delete(
        "/wards/{ward_code:str}",
        status_code=200,
        summary="Close a ward",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def close(
        self,
        actor: NamedDependency[Actor],
        ingest: NamedDependency[IngestService],
        hospital_code: FromPath[str],
        ward_code: FromPath[str],
    ) -> WardClosed:
        """The ward disappears from availability until a newer report lists it again."""
        return await ingest.close_ward(hospital_code, ward_code, actor)
