"""SIRS rows as bedsvc wards: one row per (id_tt, ruang), addressed by the ward's id_t_tt."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from typing import NamedTuple

from bedsvc.bridges.classes import by_sirs_id, class_map, sirs_id_of
from bedsvc.bridges.service import BridgeService
from bedsvc.bridges.sirs import messages
from bedsvc.bridges.sirs.schemas import (
    BedIn,
    BedItems,
    BedList,
    BedOut,
    BedType,
    BedTypeList,
    BedUpdate,
    Status,
    occupancy_error,
)
from bedsvc.bridges.wards import BridgeWard, local_time, open_wards, write_ward
from bedsvc.errors import FieldError, InvalidInput, NotFound
from bedsvc.ingest.schemas import WardReport
from bedsvc.ingest.write import close_ward
from bedsvc.store.reference import BedClass

_MAX_WARD_CODE = 64


class WardRef(NamedTuple):
    ward_code: str
    name: str
    bed_class: str


def _same_room(name: str, other: str) -> bool:
    return " ".join(name.split()).casefold() == " ".join(other.split()).casefold()


def new_ward_code(id_tt: int, ruang: str, taken: set[str]) -> str:
    """A ward code from the SIRS row's identity, e.g. TT5_IRINA_A_ATAS_BEDAH; a digest of the
    name makes it unique when the name is long, not Latin, or differs only in punctuation."""
    ascii_name = unicodedata.normalize("NFKD", ruang).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Z0-9]+", "_", ascii_name.upper()).strip("_")
    code = f"TT{id_tt}_{slug}"
    if slug and len(code) <= _MAX_WARD_CODE and code not in taken:
        return code
    digest = hashlib.sha256(" ".join(ruang.split()).casefold().encode()).hexdigest()[:8]
    return f"{code[: _MAX_WARD_CODE - 9].rstrip('_')}_{digest}"


async def _bed_types(bridges: BridgeService) -> dict[int, str]:
    async with bridges.pool.acquire() as conn:
        return {row.id_tt: row.name async for row in bridges.queries.sirs_bed_types(conn)}


async def bed_types(bridges: BridgeService) -> BedTypeList:
    """Every id_tt bedsvc accepts, named as SIRS names it (else by our class)."""
    names = await _bed_types(bridges)
    pairs = sorted((i, names.get(i, c.name_id)) for c in bridges.bed_classes for i in c.sirs_ids)
    return BedTypeList(tempat_tidur=[BedType(kode_tt=str(i), nama_tt=n) for i, n in pairs])


def _bed_out(ward: BridgeWard, id_tt: int, type_name: str, utc_offset: int) -> BedOut:
    zero = "0"
    return BedOut(
        id_t_tt=str(ward.id_t_tt),
        id_tt=str(id_tt),
        tt=type_name,
        ruang=ward.name,
        jumlah_ruang="1",  # one bedsvc ward is one room
        jumlah=str(ward.capacity),
        terpakai=str(ward.capacity - ward.available),
        kosong=str(ward.available),
        antrian=str(ward.waiting or 0),
        terpakai_suspek=zero,
        terpakai_konfirmasi=zero,
        prepare=zero,
        prepare_plan=zero,
        covid=zero,
        tglupdate=local_time(ward.received_at, utc_offset),
    )


async def list_beds(bridges: BridgeService, hospital_code: str) -> BedList:
    """The hospital's wards, whichever API reported them, but those of a class SIRS lacks."""
    classes = class_map(bridges.bed_classes)
    names = await _bed_types(bridges)
    offset = bridges.settings.bridges.bridge_utc_offset_hours
    rows: BedItems = []
    for ward in await open_wards(bridges, hospital_code):
        bed_class = classes[ward.bed_class]
        id_tt = sirs_id_of(ward.ward_code, bed_class)
        if id_tt is not None:
            rows.append(_bed_out(ward, id_tt, names.get(id_tt, bed_class.name_id), offset))
    return BedList(fasyankes=rows)


def _bed_class(bridges: BridgeService, id_tt: int) -> BedClass:
    bed_class = by_sirs_id(bridges.bed_classes, id_tt)
    if bed_class is None:
        raise InvalidInput(
            messages.UNKNOWN_ID_TT.format(id_tt=id_tt), [FieldError("id_tt", "tidak dikenal")]
        )
    return bed_class


def _check(jumlah: int, terpakai: int) -> None:
    error = occupancy_error(jumlah, terpakai)
    if error is not None:
        raise InvalidInput(f"Data tidak valid: {error}.", [FieldError("terpakai", error)])


def _ward(code: str, name: str, bed_class: BedClass, bed: BedIn | BedUpdate) -> WardReport:
    return WardReport(
        ward_code=code,
        name=name,
        bed_class=bed_class.code,
        capacity=bed.jumlah,
        available=bed.jumlah - bed.terpakai,
        waiting=bed.antrian,
    )


async def _id_t_tt(bridges: BridgeService, hospital_code: str, ward_code: str) -> int:
    async with bridges.pool.acquire() as conn:
        value: int = await bridges.queries.ward_id_t_tt(
            conn, hospital_code=hospital_code, ward_code=ward_code
        )
    return value


async def add_bed(bridges: BridgeService, hospital_code: str, bed: BedIn, key_id: str) -> Status:
    """POST: a new row, or the same (id_tt, ruang) again, which updates it in place."""
    bed_class = _bed_class(bridges, bed.id_tt)
    _check(bed.jumlah, bed.terpakai)
    wards = await open_wards(bridges, hospital_code)
    existing = next(
        (
            w
            for w in wards
            if w.bed_class == bed_class.code
            and _same_room(w.name, bed.ruang)
            and sirs_id_of(w.ward_code, bed_class) == bed.id_tt
        ),
        None,
    )
    taken = {w.ward_code for w in wards}
    code = existing.ward_code if existing else new_ward_code(bed.id_tt, bed.ruang, taken)
    # SIRS has no report time of its own (X-Timestamp is unreliable): ours orders its updates.
    ward = _ward(code, bed.ruang, bed_class, bed)
    written = await write_ward(bridges, hospital_code, ward, datetime.now(UTC), key_id)
    id_t_tt = existing.id_t_tt if existing else written.id_t_tts.get(code)
    if id_t_tt is None:  # not applied: a newer state of the ward (e.g. its closing) stands
        id_t_tt = await _id_t_tt(bridges, hospital_code, code)
    message = messages.EXISTS_UPDATED if existing else messages.SAVED
    return Status(status="200", message=message, id_t_tt=str(id_t_tt))


async def _open_by_id(bridges: BridgeService, hospital_code: str, id_t_tt: int) -> WardRef:
    async with bridges.pool.acquire() as conn:
        row = await bridges.queries.open_ward_by_id_t_tt(
            conn, hospital_code=hospital_code, id_t_tt=id_t_tt
        )
    if row is None:
        # Another hospital's id_t_tt is as unknown as a made-up one.
        raise NotFound(messages.NOT_FOUND.format(id_t_tt=id_t_tt))
    return WardRef(ward_code=row.ward_code, name=row.name, bed_class=row.bed_class)


async def update_bed(
    bridges: BridgeService, hospital_code: str, bed: BedUpdate, key_id: str
) -> Status:
    """PUT: at least jumlah and terpakai of the ward with this id_t_tt."""
    ref = await _open_by_id(bridges, hospital_code, bed.id_t_tt)
    if bed.id_tt is not None:
        bed_class = _bed_class(bridges, bed.id_tt)
    else:
        bed_class = class_map(bridges.bed_classes)[ref.bed_class]
    _check(bed.jumlah, bed.terpakai)
    ward = _ward(ref.ward_code, bed.ruang or ref.name, bed_class, bed)
    await write_ward(bridges, hospital_code, ward, datetime.now(UTC), key_id)
    return Status(status="200", message=messages.UPDATED, id_t_tt=str(bed.id_t_tt))


async def delete_bed(
    bridges: BridgeService, hospital_code: str, id_t_tt: int, key_id: str
) -> Status:
    ref = await _open_by_id(bridges, hospital_code, id_t_tt)
    try:
        await close_ward(
            bridges.pool, bridges.queries, bridges.sync, hospital_code, ref.ward_code, key_id
        )
    except NotFound:  # closed by a request that came in between
        raise NotFound(messages.NOT_FOUND.format(id_t_tt=id_t_tt)) from None
    return Status(status="200", message=messages.DELETED, id_t_tt=str(id_t_tt))
