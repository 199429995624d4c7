"""Aplicares rooms as bedsvc wards: koderuang is the ward code, kodekelas maps to a bed class."""

from __future__ import annotations

from datetime import datetime

from bedsvc.bridges.aplicares.schemas import (
    BedIn,
    BedItems,
    BedList,
    BedOut,
    BedReply,
    ClassList,
    ClassOut,
    ClassReply,
    Metadata,
    bed_errors,
)
from bedsvc.bridges.classes import aplicares_code, by_aplicares_code, class_map
from bedsvc.bridges.service import BridgeService
from bedsvc.bridges.wards import BridgeWard, local_time, open_wards, write_ward
from bedsvc.errors import FieldError, InvalidInput, NotFound
from bedsvc.ingest.schemas import WardReport
from bedsvc.ingest.write import close_ward
from bedsvc.store.reference import BedClass

UNKNOWN_ROOM = "Data tidak ada di database."


def class_reply(bridges: BridgeService) -> ClassReply:
    items = [
        ClassOut(kodekelas=code, namakelas=c.name_id)
        for c in bridges.bed_classes
        for code in c.aplicares_codes
    ]
    return ClassReply(
        metadata=Metadata(code=1, message="OK", totalitems=len(items)),
        response=ClassList(list=items),
    )


def _by_sex(bed: BedIn) -> tuple[int | None, int | None]:
    # Both zero or absent: the SIMRS does not split by sex, which is not "none for men".
    if not (bed.tersediapria or bed.tersediawanita):
        return None, None
    return bed.tersediapria or 0, bed.tersediawanita or 0


def ward_report(bridges: BridgeService, bed: BedIn) -> WardReport:
    """The room as a ward, or every reason it cannot be one, in Indonesian."""
    bed_class = by_aplicares_code(bridges.bed_classes, bed.kodekelas)
    errors = bed_errors(bed)
    if bed_class is None:
        errors.insert(0, f"kodekelas '{bed.kodekelas}' tidak dikenal (lihat ref/kelas)")
    if errors or bed_class is None:
        raise InvalidInput(
            "Data tidak valid: " + "; ".join(errors) + ".",
            [FieldError("body", e) for e in errors],
        )
    male, female = _by_sex(bed)
    return WardReport(
        ward_code=bed.koderuang,
        name=bed.namaruang or None,  # none: a room keeps its name, a new one is named by code
        bed_class=bed_class.code,
        capacity=bed.kapasitas,
        available=bed.tersedia,
        available_male=male,
        available_female=female,
    )


async def save_bed(
    bridges: BridgeService,
    hospital_code: str,
    bed: BedIn,
    reported_at: datetime,
    key_id: str,
    must_exist: bool,
) -> None:
    """bed/create (an upsert, so a repeated create is harmless) and bed/update, which must
    find the room open (checked in the write itself)."""
    ward = ward_report(bridges, bed)
    try:
        await write_ward(bridges, hospital_code, ward, reported_at, key_id, only_open=must_exist)
    except NotFound:
        raise NotFound(UNKNOWN_ROOM) from None


async def delete_bed(
    bridges: BridgeService, hospital_code: str, koderuang: str, key_id: str
) -> None:
    try:
        await close_ward(
            bridges.pool, bridges.queries, bridges.sync, hospital_code, koderuang, key_id
        )
    except NotFound:
        raise NotFound(UNKNOWN_ROOM) from None


def _bed_out(
    ward: BridgeWard, row: int, bed_class: BedClass, ppk_code: str, utc_offset: int
) -> BedOut:
    male, female = ward.available_male or 0, ward.available_female or 0
    return BedOut(
        kodekelas=aplicares_code(bed_class),
        namakelas=bed_class.name_id,
        koderuang=ward.ward_code,
        namaruang=ward.name,
        kapasitas=ward.capacity,
        tersedia=ward.available,
        tersediapria=male,
        tersediawanita=female,
        tersediapriawanita=max(0, ward.available - male - female),
        rownumber=row,
        lastupdate=local_time(ward.received_at, utc_offset),
        kodeppk=ppk_code,
    )


async def read_beds(
    bridges: BridgeService, hospital_code: str, ppk_code: str, start: int, limit: int
) -> BedReply:
    """One page of rooms; start is 1-based (0 is read as 1, as some bridges send it)."""
    wards = await open_wards(bridges, hospital_code)
    first = max(start, 1)
    page = wards[first - 1 : first - 1 + max(limit, 0)]
    classes = class_map(bridges.bed_classes)
    offset = bridges.settings.bridges.bridge_utc_offset_hours
    items: BedItems = [
        _bed_out(ward, first + i, classes[ward.bed_class], ppk_code, offset)
        for i, ward in enumerate(page)
    ]
    return BedReply(
        metadata=Metadata(code=1, message="OK", totalitems=len(wards)),
        response=BedList(list=items),
    )
