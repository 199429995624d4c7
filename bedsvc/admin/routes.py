from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody, Parameter

from bedsvc.access.actor import Actor
from bedsvc.access.keys import IssuedKey, authenticate
from bedsvc.admin.schemas import HospitalIn, HospitalSaved, KeyRequest, KeyRevoked
from bedsvc.admin.service import after_hospital_saved, create_key, revoke_key, save_hospital
from bedsvc.errors import problem_responses
from bedsvc.services import Services, get_services
from bedsvc.text import CODE_PATTERN


async def admin_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    services = get_services(connection.app.state)
    key = await authenticate(connection, services.pool, services.queries, "admin")
    connection.state.key_id = key.id


def _actor(request: Request[Any, Any, Any]) -> Actor:
    return Actor(key_id=request.state.key_id)


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["operators"]
    guards = [admin_key_guard]

    @post(
        "/hospitals",
        status_code=200,
        summary="Create or update a hospital",
        responses=problem_responses(400, 401, 403, 413, 422, 429, 503),
    )
    async def save_hospital(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[HospitalIn],
    ) -> HospitalSaved:
        saved = await save_hospital(services.pool, services.queries, services.sync, data)
        await after_hospital_saved(services.pool, services.queries, data, saved, _actor(request))
        return saved

    @post(
        "/keys",
        status_code=201,
        summary="Issue an API key (shown once)",
        responses=problem_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def issue_key(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[KeyRequest],
    ) -> IssuedKey:
        return await create_key(services.pool, services.queries, data, _actor(request))

    @delete(
        "/keys/{key_id:str}",
        status_code=200,
        summary="Revoke an API key",
        responses=problem_responses(401, 403, 404, 422, 429, 503),
    )
    async def revoke_key(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        key_id: Annotated[str, Parameter(max_length=64, pattern=CODE_PATTERN)],
    ) -> KeyRevoked:
        await revoke_key(services.pool, services.queries, key_id, _actor(request))
        return KeyRevoked(key_id=key_id, revoked=True)
