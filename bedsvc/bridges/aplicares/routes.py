from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from bedsvc.bridges.aplicares.auth import AplicaresActor, aplicares_actor, aplicares_guard
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
from bedsvc.bridges.service import BridgeService

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
    dependencies = {"actor": Provide(aplicares_actor, sync_to_thread=False)}

    @get(
        "/ref/kelas",
        summary="Aplicares class codes (kodekelas)",
        responses=aplicares_responses(401, 403, 429, 503),
    )
    async def classes(self, bridges: NamedDependency[BridgeService]) -> ClassReply:
        return class_reply(bridges)

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
        actor: NamedDependency[AplicaresActor],
        bridges: NamedDependency[BridgeService],
        kodeppk: FromPath[str],
    ) -> Reply:
        """The report time is the request's X-timestamp."""
        bed = await read_body(request, BedIn, OPTIONAL_COUNTS, _TEXT_FIELDS)
        await save_bed(
            bridges, actor.hospital_code, bed, actor.reported_at, actor.key_id, must_exist=False
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
        actor: NamedDependency[AplicaresActor],
        bridges: NamedDependency[BridgeService],
        kodeppk: FromPath[str],
    ) -> Reply:
        """An update older than the stored one is acknowledged and changes nothing; an unknown
        room is refused with "Data tidak ada di database."."""
        bed = await read_body(request, BedIn, OPTIONAL_COUNTS, _TEXT_FIELDS)
        await save_bed(
            bridges, actor.hospital_code, bed, actor.reported_at, actor.key_id, must_exist=True
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
        actor: NamedDependency[AplicaresActor],
        bridges: NamedDependency[BridgeService],
        kodeppk: FromPath[str],
    ) -> Reply:
        key = await read_body(request, BedKey, frozenset({"kodekelas"}), _TEXT_FIELDS)
        await delete_bed(bridges, actor.hospital_code, key.koderuang, actor.key_id)
        return _ok("Data berhasil dihapus.")

    @get(
        "/bed/read/{kodeppk:str}/{start:int}/{limit:int}",
        summary="Rooms, one page",
        responses=aplicares_responses(401, 403, 404, 422, 429, 503),
    )
    async def read(
        self,
        actor: NamedDependency[AplicaresActor],
        bridges: NamedDependency[BridgeService],
        kodeppk: FromPath[str],
        start: FromPath[int],
        limit: FromPath[int],
    ) -> BedReply:
        """`start` is 1-based; `metadata.totalitems` counts every room."""
        # The guard admits the credential's own PPK code only.
        return await read_beds(bridges, actor.hospital_code, kodeppk, start, limit)
