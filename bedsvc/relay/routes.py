"""The relays over HTTP: operators set and clear credentials, the health office watches every
relay, a hospital (its key or its ward staff) sees its own."""

from __future__ import annotations

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from bedsvc.access.actor import Actor
from bedsvc.access.guards import admin_key_guard, hospital_actor_guard, monitor_key_guard
from bedsvc.problems import problem_responses
from bedsvc.relay.credentials import clear_credential, set_credential
from bedsvc.relay.registries import Registry
from bedsvc.relay.schemas import AplicaresCredentialIn, RelayList, SirsCredentialIn
from bedsvc.relay.service import RelayService
from bedsvc.relay.status import relay_list


async def _hospital_relays(relays: RelayService, hospital_code: str) -> RelayList:
    return await relay_list(relays.pool, relays.queries, relays.urls, hospital_code)


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
        actor: NamedDependency[Actor],
        relays: NamedDependency[RelayService],
        hospital_code: FromPath[str],
        data: JSONBody[SirsCredentialIn],
    ) -> RelayList:
        await _set(actor, relays, hospital_code, "sirs", data.rs_id, data.password)
        return await _hospital_relays(relays, hospital_code)

    @put(
        "/aplicares",
        summary="Set the hospital's Aplicares credential (its relay starts afresh)",
        responses=problem_responses(401, 403, 404, 413, 422, 429, 503),
    )
    async def set_aplicares(
        self,
        actor: NamedDependency[Actor],
        relays: NamedDependency[RelayService],
        hospital_code: FromPath[str],
        data: JSONBody[AplicaresCredentialIn],
    ) -> RelayList:
        await _set(actor, relays, hospital_code, "aplicares", data.cons_id, data.secret)
        return await _hospital_relays(relays, hospital_code)

    @delete(
        "/sirs",
        status_code=200,
        summary="Stop relaying the hospital to SIRS Online",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def clear_sirs(
        self,
        actor: NamedDependency[Actor],
        relays: NamedDependency[RelayService],
        hospital_code: FromPath[str],
    ) -> RelayList:
        await clear_credential(relays.pool, relays.queries, actor, hospital_code, "sirs")
        return await _hospital_relays(relays, hospital_code)

    @delete(
        "/aplicares",
        status_code=200,
        summary="Stop relaying the hospital to Aplicares",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def clear_aplicares(
        self,
        actor: NamedDependency[Actor],
        relays: NamedDependency[RelayService],
        hospital_code: FromPath[str],
    ) -> RelayList:
        await clear_credential(relays.pool, relays.queries, actor, hospital_code, "aplicares")
        return await _hospital_relays(relays, hospital_code)


async def _set(
    actor: Actor,
    relays: RelayService,
    hospital_code: str,
    registry: Registry,
    login: str,
    secret: str,
) -> None:
    await set_credential(
        relays.pool,
        relays.queries,
        relays.secret_box,
        actor,
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
    async def relays(self, relays: NamedDependency[RelayService]) -> RelayList:
        return await relay_list(relays.pool, relays.queries, relays.urls, None)


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
        self, relays: NamedDependency[RelayService], hospital_code: FromPath[str]
    ) -> RelayList:
        return await _hospital_relays(relays, hospital_code)
