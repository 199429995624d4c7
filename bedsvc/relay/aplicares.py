"""The Aplicares client: a hospital's wards as the rooms of BPJS's bed interface.

A room is found by its code (`koderuang`, the ward code). `bed/read` lists the rooms the
registry holds; a room whose counts differ is sent with `bed/update`, and when the registry
answers that it does not know the room ("Data tidak ada di database.", code 0) with
`bed/create`, as public SIMRS clients do; the room of a ward closed in bedsvc is removed with
`bed/delete`. Every request is signed: `X-signature` = Base64(HMAC-SHA256(secret,
cons_id&timestamp)). The answer's `metadata.code` 1 is success.

The registry may take `X-timestamp` (whole seconds) as the time of the report, as the
project's own bridge does: each send's stamps lie above the previous send's end
(`min_stamp`), so that a change is never taken as older than the one before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import httpx

from bedsvc.bridges.aplicares.auth import signature
from bedsvc.relay.failures import (
    CREDENTIAL_REFUSED,
    INVALID_RESPONSE,
    NO_PPK_CODE,
    REJECTED,
    SendFailed,
    as_int,
    call,
)
from bedsvc.store.reference import BedClass
from bedsvc.store.relays import RelayWard

PAGE = 100
_MAX_PAGES = 100
_UNKNOWN_ROOM = "tidak ada"


class Room(NamedTuple):
    kodekelas: str
    namaruang: str
    kapasitas: int
    tersedia: int
    tersediapria: int
    tersediawanita: int


def rooms_of(wards: Iterable[RelayWard], classes: Mapping[str, BedClass]) -> dict[str, Room]:
    """Ward code → its room, for the wards of a class BPJS has a code for."""
    rooms = {}
    for ward in wards:
        codes = classes[ward.bed_class].aplicares_codes
        if not codes:
            continue
        rooms[ward.ward_code] = Room(
            kodekelas=codes[0],
            namaruang=ward.name,
            kapasitas=ward.capacity,
            tersedia=ward.available,
            tersediapria=ward.available_male or 0,
            tersediawanita=ward.available_female or 0,
        )
    return rooms


class Signer:
    """Headers per request, each stamped now (the registry refuses old stamps) but never
    below `floor`, the first stamp this send may use."""

    def __init__(self, cons_id: str, secret: str, floor: int) -> None:
        self.cons_id = cons_id
        self.secret = secret
        self.floor = floor

    def __call__(self) -> dict[str, str]:
        timestamp = str(max(int(time.time()), self.floor))
        return {
            "X-cons-id": self.cons_id,
            "X-timestamp": timestamp,
            "X-signature": signature(self.secret, self.cons_id, timestamp),
            "Accept": "application/json",
        }


def _body(code: str, room: Room) -> dict[str, Any]:
    # Numbers as text, as SIMRS send them.
    both = max(room.tersedia - room.tersediapria - room.tersediawanita, 0)
    return {
        "kodekelas": room.kodekelas,
        "koderuang": code,
        "namaruang": room.namaruang,
        "kapasitas": str(room.kapasitas),
        "tersedia": str(room.tersedia),
        "tersediapria": str(room.tersediapria),
        "tersediawanita": str(room.tersediawanita),
        "tersediapriawanita": str(both),
    }


def _metadata(status: int, body: Any, what: str) -> tuple[int | None, str]:
    metadata = body.get("metadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        raise SendFailed(INVALID_RESPONSE, f"{what}: HTTP {status}, no metadata")
    code = as_int(metadata.get("code"))
    message = str(metadata.get("message", ""))
    if code in (401, 403):
        raise SendFailed(CREDENTIAL_REFUSED, f"{what}: {message}")
    return code, message


def _unknown_room(status: int, code: int | None, message: str) -> bool:
    return code != 1 and (status == 404 or _UNKNOWN_ROOM in message.casefold())


def _check(status: int, body: Any, what: str) -> None:
    code, message = _metadata(status, body, what)
    if code != 1 or not 200 <= status < 300:
        raise SendFailed(REJECTED, f"{what}: HTTP {status} code {code} {message}")


async def _registered(
    http: httpx.AsyncClient, base: str, ppk: str, sign: Signer
) -> dict[str, Room]:
    rooms: dict[str, Room] = {}
    start = 1
    for _ in range(_MAX_PAGES):
        what = "GET bed/read"
        url = f"{base}/bed/read/{ppk}/{start}/{PAGE}"
        status, body = await call(http, "GET", url, sign())
        code, message = _metadata(status, body, what)
        if _unknown_room(status, code, message):
            return rooms  # no room yet
        _check(status, body, what)
        response = body.get("response") or {}
        items = response.get("list") if isinstance(response, dict) else None
        if not isinstance(items, list):
            raise SendFailed(INVALID_RESPONSE, f"{what}: no response list")
        for item in items:
            if isinstance(item, dict) and item.get("koderuang"):
                rooms[str(item["koderuang"])] = Room(
                    kodekelas=str(item.get("kodekelas", "")),
                    namaruang=str(item.get("namaruang", "")),
                    kapasitas=as_int(item.get("kapasitas")) or 0,
                    tersedia=as_int(item.get("tersedia")) or 0,
                    tersediapria=as_int(item.get("tersediapria")) or 0,
                    tersediawanita=as_int(item.get("tersediawanita")) or 0,
                )
        total = as_int(body["metadata"].get("totalitems")) or 0
        start += PAGE
        if not items or start > total:
            break
    return rooms


async def send(
    http: httpx.AsyncClient,
    base: str,
    cons_id: str,
    secret: str,
    ppk: str | None,
    wards: list[RelayWard],
    classes: Mapping[str, BedClass],
    stamp: int,
) -> int:
    """Brings the registry's rooms to these wards; returns how many writes it took."""
    if not ppk:
        raise SendFailed(NO_PPK_CODE, "the hospital has no BPJS PPK code (bpjs_ppk_code)")
    sign = Signer(cons_id, secret, stamp)
    registered = await _registered(http, base, ppk, sign)
    open_rooms = rooms_of((w for w in wards if w.open), classes)
    writes = 0
    for code, room in open_rooms.items():
        if registered.get(code) == room:
            continue
        body = _body(code, room)
        writes += 1
        if code in registered:
            status, answer = await call(http, "POST", f"{base}/bed/update/{ppk}", sign(), body)
            result, message = _metadata(status, answer, "bed/update")
            if not _unknown_room(status, result, message):
                _check(status, answer, "bed/update")
                continue
        status, answer = await call(http, "POST", f"{base}/bed/create/{ppk}", sign(), body)
        _check(status, answer, "bed/create")
    for code, room in rooms_of((w for w in wards if not w.open), classes).items():
        if code not in registered or code in open_rooms:
            continue
        key = {"kodekelas": registered[code].kodekelas or room.kodekelas, "koderuang": code}
        status, answer = await call(http, "POST", f"{base}/bed/delete/{ppk}", sign(), key)
        result, message = _metadata(status, answer, "bed/delete")
        if not _unknown_room(status, result, message):  # already gone otherwise
            _check(status, answer, "bed/delete")
        writes += 1
    return writes
