from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide

from bedsvc.bridges.actor import BridgeActor, bridge_actor
from bedsvc.bridges.body import convert_fields, decode_fields, read_body
from bedsvc.bridges.envelopes import sirs_responses
from bedsvc.bridges.openapi import body_operation
from bedsvc.bridges.service import BridgeService
from bedsvc.bridges.sirs.auth import sirs_guard
from bedsvc.bridges.sirs.schemas import (
    OPTIONAL_FIELDS,
    TEXT_FIELDS,
    BedIn,
    BedKey,
    BedList,
    BedTypeList,
    BedUpdate,
    StatusReply,
)
from bedsvc.bridges.sirs.service import add_bed, bed_types, delete_bed, list_beds, update_bed

_BODY = "JSON, or the same fields as form data; numbers may be strings."


@get(
    "/Referensi/tempat_tidur",
    summary="Bed types (id_tt) bedsvc accepts",
    responses=sirs_responses(401, 403, 429, 503, reference=True),
)
async def reference(bridges: NamedDependency[BridgeService]) -> BedTypeList:
    return await bed_types(bridges)


@get(
    "/Fasyankes",
    summary="The hospital's beds, with their id_t_tt",
    responses=sirs_responses(401, 403, 429, 503),
)
async def list_fasyankes(
    actor: NamedDependency[BridgeActor], bridges: NamedDependency[BridgeService]
) -> BedList:
    return await list_beds(bridges, actor.hospital_code)


@post(
    "/Fasyankes",
    status_code=200,
    summary="Add a room's beds (or update the same row)",
    operation_class=body_operation(BedIn, _BODY),
    responses=sirs_responses(400, 401, 403, 404, 413, 422, 429, 503),
)
async def add_fasyankes(
    request: Request[Any, Any, Any],
    actor: NamedDependency[BridgeActor],
    bridges: NamedDependency[BridgeService],
) -> StatusReply:
    """Body `id_tt, ruang, jumlah_ruang, jumlah, terpakai` (numbers may be strings), optional
    `antrian` (stored as the waiting count) and the COVID-era fields (accepted, not stored)."""
    bed = await read_body(request, BedIn, OPTIONAL_FIELDS, TEXT_FIELDS)
    status = await add_bed(bridges, actor.hospital_code, bed, actor.key_id)
    return StatusReply(fasyankes=[status])


@put(
    "/Fasyankes",
    status_code=200,
    summary="Update a row by id_t_tt",
    operation_class=body_operation(BedUpdate, _BODY),
    responses=sirs_responses(400, 401, 403, 404, 413, 422, 429, 503),
)
async def update_fasyankes(
    request: Request[Any, Any, Any],
    actor: NamedDependency[BridgeActor],
    bridges: NamedDependency[BridgeService],
) -> StatusReply:
    bed = await read_body(request, BedUpdate, OPTIONAL_FIELDS, TEXT_FIELDS)
    status = await update_bed(bridges, actor.hospital_code, bed, actor.key_id)
    return StatusReply(fasyankes=[status])


@delete(
    "/Fasyankes",
    status_code=200,
    summary="Delete (close) a row by id_t_tt",
    responses=sirs_responses(400, 401, 403, 404, 413, 422, 429, 503),
)
async def delete_fasyankes(
    request: Request[Any, Any, Any],
    actor: NamedDependency[BridgeActor],
    bridges: NamedDependency[BridgeService],
) -> StatusReply:
    """`id_t_tt` in the body, or as a query parameter."""
    fields = dict(request.query_params) | decode_fields(await request.body())
    key = convert_fields(fields, BedKey)
    status = await delete_bed(bridges, actor.hospital_code, key.id_t_tt, actor.key_id)
    return StatusReply(fasyankes=[status])


def sirs_router(prefix: str) -> Router:
    """SIRS Online-compatible: set the SIMRS's SIRS base URL to bedsvc's host + this prefix.

    Headers `X-rs-id` (the Kemenkes hospital code), `X-pass` (the password or its MD5 hex) and
    `X-Timestamp`. Errors answer as `{"fasyankes": [{"status": "4xx", "message": …}]}` with
    that HTTP status: a 2xx always means the change was committed."""
    return Router(
        path=prefix,
        route_handlers=[
            reference,
            list_fasyankes,
            add_fasyankes,
            update_fasyankes,
            delete_fasyankes,
        ],
        guards=[sirs_guard],
        dependencies={"actor": Provide(bridge_actor, sync_to_thread=False)},
        tags=["SIRS Online bridge"],
    )
