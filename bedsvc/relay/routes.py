"""The relays over HTTP: operators set and clear credentials, the health office watches every
relay, a hospital (its key or its ward staff) sees its own."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from bedsvc.admin.routes import admin_key_guard
from bedsvc.audit import Actor
from bedsvc.errors import problem_responses
from bedsvc.ingest.guard import hospital_actor_guard
from bedsvc.monitor.routes import monitor_key_guard
from bedsvc.relay.credentials import clear_credential, set_credential
from bedsvc.relay.registries import Registry, base_urls
from bedsvc.relay.schemas import AplicaresCredentialIn, RelayList, SirsCredentialIn
from bedsvc.relay.status import relay_list
from bedsvc.services import Services


async def _hospital_relays(services: Services, hospital_code: str) -> RelayList:
    return await relay_list(
        services.pool, services.queries, base_urls(services.settings), hospital_code
    )


def _actor(request: Request[Any, Any, Any]) -> Actor:
    return Actor(key_id=request.state.key_id)


class RelayAdminController(Controller):
    """`bedsvc relay set/clear` over HTTP. Each answers the hospital's relays as they stand."""

    path = "/api/v1/admin/hospitals/{hospital_code:str}/relay"
    tags = ["operators"]
    guards = [admin_key_guard]

    @put(
        "/sirs",
        summary="Set the hospital's SIRS Online credential (its relay starts afresh)",
        responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
    )
    async def set_sirs(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
        data: JSONBody[SirsCredentialIn],
    ) -> RelayList:
        await _set(request, services, hospital_code, "sirs", data.rs_id, data.password)
        return await _hospital_relays(services, hospital_code)

    @put(
        "/aplicares",
        summary="Set the hospital's Aplicares credential (its relay starts afresh)",
        responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
    )
    async def set_aplicares(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
        data: JSONBody[AplicaresCredentialIn],
    ) -> RelayList:
        await _set(request, services, hospital_code, "aplicares", data.cons_id, data.secret)
        return await _hospital_relays(services, hospital_code)

    @delete(
        "/sirs",
        status_code=200,
        summary="Stop relaying the hospital to SIRS Online",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def clear_sirs(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
    ) -> RelayList:
        await clear_credential(
            services.pool, services.queries, _actor(request), hospital_code, "sirs"
        )
        return await _hospital_relays(services, hospital_code)

    @delete(
        "/aplicares",
        status_code=200,
        summary="Stop relaying the hospital to Aplicares",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def clear_aplicares(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
    ) -> RelayList:
        await clear_credential(
            services.pool, services.queries, _actor(request), hospital_code, "aplicares"
        )
        return await _hospital_relays(services, hospital_code)


async def _set(
    request: Request[Any, Any, Any],
    services: Services,
    hospital_code: str,
    registry: Registry,
    login: str,
    secret: str,
) -> None:
    await set_credential(
        services.pool,
        services.queries,
        services.secret_box,
        _actor(request),
        hospital_code,
        registry,
        login,
        secret,
    )


class RelayMonitorController(Controller):
    path = "/api/v1/monitor"
    tags = ["health office"]
    guards = [monitor_key_guard]

    @get(
        "/relay",
        summary="Every listed hospital's relays to SIRS Online and Aplicares",
        responses=problem_responses(401, 403, 429, 503),
    )
    async def relays(self, services: NamedDependency[Services]) -> RelayList:
        return await relay_list(services.pool, services.queries, base_urls(services.settings), None)


class HospitalRelayController(Controller):
    """What the entry page shows ward staff: did their last save reach both registries."""

    path = "/api/v1/hospitals/{hospital_code:str}"
    tags = ["hospital push"]
    guards = [hospital_actor_guard]

    @get(
        "/relay",
        summary="The hospital's own relays (its key or its ward staff's session)",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def own_relays(
        self, services: NamedDependency[Services], hospital_code: FromPath[str]
    ) -> RelayList:
        return await _hospital_relays(services, hospital_code)
