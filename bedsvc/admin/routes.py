from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter

from bedsvc.access.actor import Actor
from bedsvc.access.guards import admin_key_guard
from bedsvc.access.keys import IssuedKey
from bedsvc.admin.schemas import HospitalIn, HospitalSaved, KeyRequest, KeyRevoked
from bedsvc.admin.service import AdminService, create_key, revoke_key, save_hospital
from bedsvc.problems import problem_responses
from bedsvc.text import CODE_PATTERN


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
        actor: NamedDependency[Actor],
        admin: NamedDependency[AdminService],
        data: JSONBody[HospitalIn],
    ) -> HospitalSaved:
        return await save_hospital(admin.pool, admin.queries, admin.sync, data, actor)

    @post(
        "/keys",
        status_code=201,
        summary="Issue an API key (shown once)",
        responses=problem_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def issue_key(
        self,
        actor: NamedDependency[Actor],
        admin: NamedDependency[AdminService],
        data: JSONBody[KeyRequest],
    ) -> IssuedKey:
        return await create_key(admin.pool, admin.queries, data, actor)

    @delete(
        "/keys/{key_id:str}",
        status_code=200,
        summary="Revoke an API key",
        responses=problem_responses(401, 403, 404, 422, 429, 503),
    )
    async def revoke_key(
        self,
        actor: NamedDependency[Actor],
        admin: NamedDependency[AdminService],
        key_id: Annotated[str, Parameter(max_length=64, pattern=CODE_PATTERN)],
    ) -> KeyRevoked:
        await revoke_key(admin.pool, admin.queries, key_id, actor)
        return KeyRevoked(key_id=key_id, revoked=True)
