"""Aplicares payloads: field names and envelope exactly as BPJS and SIMRS use them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from bedsvc.text import CODE_PATTERN, WardCode, text

Count = Annotated[int, Meta(ge=0, le=100_000)]
# koderuang is the ward code, so it follows the ward codes' rule (letters, digits, _ . -).
RoomCode = WardCode
ClassCode = Annotated[str, Meta(min_length=1, max_length=16, pattern=CODE_PATTERN)]

# Optional counts a SIMRS may send as "" or leave out.
OPTIONAL_COUNTS = frozenset({"tersediapria", "tersediawanita", "tersediapriawanita", "namaruang"})


class BedIn(msgspec.Struct, frozen=True):
    """bed/create and bed/update. Unknown fields are ignored: bridges send extras."""

    kodekelas: ClassCode
    koderuang: RoomCode
    kapasitas: Count
    tersedia: Count
    namaruang: Annotated[str, text(200)] | None = None
    tersediapria: Count | None = None
    tersediawanita: Count | None = None
    tersediapriawanita: Count | None = None


class BedKey(msgspec.Struct, frozen=True):
    """bed/delete."""

    koderuang: RoomCode
    kodekelas: ClassCode | None = None


class Metadata(msgspec.Struct, frozen=True, omit_defaults=True):
    code: int
    message: str
    totalitems: int | None = None


class Reply(msgspec.Struct, frozen=True):
    """Writes and errors: code 1 is success, 0 failure, as SIMRS code checks it."""

    metadata: Metadata


class ClassOut(msgspec.Struct, frozen=True):
    kodekelas: str
    namakelas: str


# Aliases: a field named `list` would shadow the builtin inside its own class body.
ClassItems = list[ClassOut]


class ClassList(msgspec.Struct, frozen=True):
    list: ClassItems


class ClassReply(msgspec.Struct, frozen=True):
    metadata: Metadata
    response: ClassList


class BedOut(msgspec.Struct, frozen=True):
    kodekelas: str
    namakelas: str
    koderuang: str
    namaruang: str
    kapasitas: int
    tersedia: int
    tersediapria: int
    tersediawanita: int
    tersediapriawanita: int
    rownumber: int
    lastupdate: str
    kodeppk: str


BedItems = list[BedOut]


class BedList(msgspec.Struct, frozen=True):
    list: BedItems


class BedReply(msgspec.Struct, frozen=True):
    metadata: Metadata
    response: BedList


def bed_errors(bed: BedIn) -> list[str]:
    """The cross-field rules, in the words a hospital's IT staff read in their SIMRS."""
    errors = []
    if bed.tersedia > bed.kapasitas:
        errors.append(f"tersedia ({bed.tersedia}) melebihi kapasitas ({bed.kapasitas})")
    by_sex = (bed.tersediapria or 0) + (bed.tersediawanita or 0)
    if by_sex > bed.tersedia:
        errors.append(
            f"tersediapria + tersediawanita ({by_sex}) melebihi tersedia ({bed.tersedia})"
        )
    return errors
