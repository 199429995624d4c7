from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from msgspec import Meta

from bedsvc.errors import FieldError, InvalidInput
from bedsvc.text import WardCode, text

Count = Annotated[int, Meta(ge=0, le=100_000)]


class WardReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ward_code: WardCode
    bed_class: Annotated[str, Meta(min_length=1, max_length=32)]
    capacity: Count
    available: Count
    name: Annotated[str, text(200)] | None = None
    available_male: Count | None = None
    available_female: Count | None = None
    waiting: Count | None = None


class OccupancyReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reported_at: Annotated[datetime, Meta(tz=True)]
    wards: Annotated[list[WardReport], Meta(min_length=1)]


class IngestResult(msgspec.Struct, frozen=True):
    version: int
    applied: list[str]
    stale: list[str]


class WardClosed(msgspec.Struct, frozen=True):
    version: int
    ward_code: str
    closed: bool


def _ward_errors(
    index: int, ward: WardReport, bed_classes: frozenset[str], max_capacity: int
) -> list[FieldError]:
    at = f"wards[{index}]"
    errors = []
    if ward.capacity > max_capacity:
        errors.append(
            FieldError(
                f"{at}.capacity", f"at most {max_capacity} beds per ward (BEDSVC_MAX_WARD_CAPACITY)"
            )
        )
    if ward.bed_class not in bed_classes:
        errors.append(FieldError(f"{at}.bed_class", f"unknown bed class '{ward.bed_class}'"))
    if ward.available > ward.capacity:
        errors.append(FieldError(f"{at}.available", f"must not exceed capacity ({ward.capacity})"))
    by_sex = (ward.available_male or 0) + (ward.available_female or 0)
    if by_sex > ward.available:
        errors.append(
            FieldError(
                f"{at}.available_male",
                f"available_male + available_female ({by_sex}) must not exceed "
                f"available ({ward.available})",
            )
        )
    return errors


def check_report(
    report: OccupancyReport,
    bed_classes: frozenset[str],
    now: datetime,
    max_future: timedelta,
    max_wards: int,
    max_capacity: int,
    max_age: timedelta | None = None,
) -> None:
    """The rules a report must meet beyond its shape; raises with every broken one.

    `max_age`: how far back reported_at may lie. The history the health office reads is
    ordered by it, so a report dated months back would rewrite what was already read."""
    errors = []
    if report.reported_at - now > max_future:
        errors.append(
            FieldError(
                "reported_at",
                f"lies more than {int(max_future.total_seconds())} s in the future; "
                "check the hospital system's clock",
            )
        )
    if max_age is not None and now - report.reported_at > max_age:
        errors.append(
            FieldError(
                "reported_at",
                f"lies more than {int(max_age.total_seconds())} s in the past; send the "
                "current state with the time it was taken",
            )
        )
    if len(report.wards) > max_wards:
        errors.append(FieldError("wards", f"at most {max_wards} wards per report"))
    seen: set[str] = set()
    for index, ward in enumerate(report.wards):
        if ward.ward_code in seen:
            errors.append(
                FieldError(f"wards[{index}].ward_code", f"'{ward.ward_code}' listed twice")
            )
        seen.add(ward.ward_code)
        errors += _ward_errors(index, ward, bed_classes, max_capacity)
    if errors:
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        raise InvalidInput(detail, errors)
