"""Bed classes in the codes the bridges speak, read from the bed_classes table (operator data)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bedsvc.store.reference import BedClass

# Wards a SIRS bridge creates carry their SIRS id_tt in the ward code ("TT38_ICU_LANTAI_2"),
# so two SIRS rows of one class (ICU with and without ventilator) stay two wards. Codes made
# before codes were ASCII letters, digits and '_' only used '-' ("TT38-ICU-LANTAI-2").
_SIRS_WARD_CODE = re.compile(r"^TT(\d+)[_-]")


def by_aplicares_code(classes: Iterable[BedClass], kodekelas: str) -> BedClass | None:
    wanted = kodekelas.strip().upper()
    return next((c for c in classes if wanted in c.aplicares_codes), None)


def aplicares_code(bed_class: BedClass) -> str:
    """The first code is what bedsvc reports back; a class BPJS has no code for keeps ours."""
    return bed_class.aplicares_codes[0] if bed_class.aplicares_codes else bed_class.code


def by_sirs_id(classes: Iterable[BedClass], id_tt: int) -> BedClass | None:
    return next((c for c in classes if id_tt in c.sirs_ids), None)


def sirs_id_of(ward_code: str, bed_class: BedClass) -> int | None:
    """The ward's SIRS id_tt: the one its code was created with, else its class's first."""
    match = _SIRS_WARD_CODE.match(ward_code)
    if match and int(match[1]) in bed_class.sirs_ids:
        return int(match[1])
    return bed_class.sirs_ids[0] if bed_class.sirs_ids else None


def class_map(classes: Iterable[BedClass]) -> dict[str, BedClass]:
    return {c.code: c for c in classes}
