from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from bedsvc.bridges.aplicares.auth import aplicares_guard
from bedsvc.bridges.aplicares.schemas import (
    OPTIONAL_COUNTS,
    BedIn,
    BedKey,
    BedReply,
    ClassReply,
    Metadata,
    Reply,
)
from bedsvc.bridges.aplicares.service import class_reply, delete_bed, read_beds, save_bed
from bedsvc.bridges.body import read_body
from bedsvc.bridges.envelopes import aplicares_responses
from bedsvc.bridges.openapi import body_operation
from bedsvc.services import Services

PREFIX = "/aplicaresws/rest"
_TEXT_FIELDS = frozenset({"kodekelas", "koderuang", "namaruang"})
_BODY = "JSON, or the same fields as form data; numbers may be strings."


def _ok(message: str) -> Reply:
    return Reply(metadata=Metadata(code=1, message=message))


class AplicaresController(Controller):
    """Aplicares-compatible: change the SIMRS's Aplicares base URL and credentials to bedsvc's.

    Headers `X-cons-id`, `X-timestamp` (Unix seconds, UTC) and `X-signature` =
    Base64(HMAC-SHA256(secret, cons_id + "&" + timestamp)). Bodies are JSON (or form fields)
    with `kodekelas, koderuang, namaruang, kapasitas, tersedia, tersediapria, tersediawanita,
    tersediapriawanita`; numbers may be strings. Errors answer in the same envelope with
    `metadata.code` 0 and a 4xx/5xx status: a 2xx always means the change was committed.
    """

    path = PREFIX
    tags = ["Aplicares bridge"]
    guards = [aplicares_guard]

    @get(
        "/ref/kelas",
        summary="Aplicares class codes (kodekelas)",
        responses=aplicares_responses(401, 403, 429, 503),
    )
    async def classes(self, services: NamedDependency[Services]) -> ClassReply:
        return class_reply(services)

    @post(
        "/bed/create/{kodeppk:str}",
        status_code=200,
        summary="Create (or replace) a room",
        operation_class=body_operation(BedIn, _BODY),
        responses=aplicares_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        kodeppk: FromPath[str],
    ) -> Reply:
        """The report time is the request's X-timestamp."""
        bed = await read_body(request, BedIn, OPTIONAL_COUNTS, _TEXT_FIELDS)
        state = request.state
        await save_bed(
            services, state.hospital_code, bed, state.reported_at, state.key_id, must_exist=False
        )
        return _ok("Data berhasil disimpan.")

    @post(
        "/bed/update/{kodeppk:str}",
        status_code=200,
        summary="Update a room's beds",
        operation_class=body_operation(BedIn, _BODY),
        responses=aplicares_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def update(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        kodeppk: FromPath[str],
    ) -> Reply:
        """An update older than the stored one is acknowledged and changes nothing; an unknown
        room is refused with "Data tidak ada di database."."""
        bed = await read_body(request, BedIn, OPTIONAL_COUNTS, _TEXT_FIELDS)
        state = request.state
        await save_bed(
            services, state.hospital_code, bed, state.reported_at, state.key_id, must_exist=True
        )
        return _ok("Data berhasil diupdate.")

    @post(
        "/bed/delete/{kodeppk:str}",
        status_code=200,
        summary="Delete (close) a room",
        operation_class=body_operation(BedKey, _BODY),
        responses=aplicares_responses(400, 401, 403, 404, 413, 422, 429, 503),
    )
    async def delete(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        kodeppk: FromPath[str],
    ) -> Reply:
        key = await read_body(request, BedKey, frozenset({"kodekelas"}), _TEXT_FIELDS)
        state = request.state
        await delete_bed(services, state.hospital_code, key.koderuang, state.key_id)
        return _ok("Data berhasil dihapus.")

    @get(
        "/bed/read/{kodeppk:str}/{start:int}/{limit:int}",
        summary="Rooms, one page",
        responses=aplicares_responses(401, 403, 404, 422, 429, 503),
    )
    async def read(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        kodeppk: FromPath[str],
        start: FromPath[int],
        limit: FromPath[int],
    ) -> BedReply:
        """`start` is 1-based; `metadata.totalitems` counts every room."""
        state = request.state
        return await read_beds(services, state.hospital_code, state.ppk_code, start, limit)
