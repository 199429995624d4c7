"""SIRS Online payloads as SIMRS bridges send and parse them (values in replies are strings)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from bedsvc.text import text

Count = Annotated[int, Meta(ge=0, le=100_000)]
IdTT = Annotated[int, Meta(ge=1, le=10_000)]
IdTTT = Annotated[int, Meta(ge=1, le=2**63 - 1)]  # a bigint identity column
Room = Annotated[str, text(200, min_length=1)]

# Fields a bridge may leave out or send as "".
OPTIONAL_FIELDS = frozenset(
    {
        "jumlah_ruang",
        "antrian",
        "terpakai_suspek",
        "terpakai_konfirmasi",
        "prepare",
        "prepare_plan",
        "covid",
        "ruang",
        "id_tt",
    }
)
TEXT_FIELDS = frozenset({"ruang"})


class BedIn(msgspec.Struct, frozen=True):
    """POST Fasyankes. Only `antrian` (the waiting count) has a meaning in bedsvc; the room
    count and the COVID-era fields are accepted and checked, not stored."""

    id_tt: IdTT
    ruang: Room
    jumlah: Count
    terpakai: Count
    jumlah_ruang: Count | None = None
    antrian: Count | None = None
    terpakai_suspek: Count | None = None
    terpakai_konfirmasi: Count | None = None
    prepare: Count | None = None
    prepare_plan: Count | None = None
    covid: Count | None = None


class BedUpdate(msgspec.Struct, frozen=True):
    """PUT Fasyankes, by id_t_tt; `ruang` renames, `id_tt` changes the bed type."""

    id_t_tt: IdTTT
    jumlah: Count
    terpakai: Count
    ruang: Room | None = None
    id_tt: IdTT | None = None
    jumlah_ruang: Count | None = None
    antrian: Count | None = None
    terpakai_suspek: Count | None = None
    terpakai_konfirmasi: Count | None = None
    prepare: Count | None = None
    prepare_plan: Count | None = None
    covid: Count | None = None


class BedKey(msgspec.Struct, frozen=True):
    """DELETE Fasyankes (in the body, or as ?id_t_tt=)."""

    id_t_tt: IdTTT


class Status(msgspec.Struct, frozen=True, omit_defaults=True):
    """What SIMRS read back: `status` "200" on success, the HTTP status on failure."""

    status: str
    message: str
    id_t_tt: str | None = None


StatusItems = list[Status]


class StatusReply(msgspec.Struct, frozen=True):
    fasyankes: StatusItems


class BedOut(msgspec.Struct, frozen=True):
    id_t_tt: str
    id_tt: str
    tt: str
    ruang: str
    jumlah_ruang: str
    jumlah: str
    terpakai: str
    kosong: str
    antrian: str
    terpakai_suspek: str
    terpakai_konfirmasi: str
    prepare: str
    prepare_plan: str
    covid: str
    tglupdate: str


BedItems = list[BedOut]


class BedList(msgspec.Struct, frozen=True):
    fasyankes: BedItems


class BedType(msgspec.Struct, frozen=True):
    kode_tt: str
    nama_tt: str


BedTypeItems = list[BedType]


class BedTypeList(msgspec.Struct, frozen=True):
    tempat_tidur: BedTypeItems


def occupancy_error(jumlah: int, terpakai: int) -> str | None:
    if terpakai > jumlah:
        return f"terpakai ({terpakai}) melebihi jumlah ({jumlah})"
    return None


class BedTypeStatusReply(msgspec.Struct, frozen=True):
    """An error on Referensi/tempat_tidur, in the list SIMRS read there."""

    tempat_tidur: StatusItems
