"""The views of current availability citizens are served.

They are derived from each hospital's `HospitalState` (bedsvc/store/states.py) at read time,
because `stale` depends on the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import msgspec

from bedsvc.store.states import HospitalState, WardState


class ClassAvailability(msgspec.Struct, frozen=True):
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    updated_at: datetime
    stale: bool


class WardAvailability(msgspec.Struct, frozen=True):
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    updated_at: datetime
    stale: bool


class HospitalAvailability(msgspec.Struct, frozen=True, omit_defaults=True):
    code: str
    name: str
    kind: str
    region_code: str
    address: str
    phone: str
    lat: float | None
    lon: float | None
    updated_at: datetime | None
    stale: bool
    classes: list[ClassAvailability]
    distance_km: float | None = None


class HospitalDetail(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    region_code: str
    address: str
    phone: str
    lat: float | None
    lon: float | None
    version: int
    updated_at: datetime | None
    stale: bool
    classes: list[ClassAvailability]
    wards: list[WardAvailability]


class AvailabilityResponse(msgspec.Struct, frozen=True):
    version: int
    generated_at: datetime
    hospitals: list[HospitalAvailability]


class AvailabilityFilter(msgspec.Struct, frozen=True):
    region: str | None = None
    bed_class: str | None = None
    available_only: bool = False
    near: tuple[float, float] | None = None
    limit: int | None = None


def _sum_optional(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def summarize_classes(
    wards: Sequence[WardState], now: datetime, stale_after: timedelta
) -> list[ClassAvailability]:
    """One line per bed class, in the order the wards come (the vocabulary's order)."""
    by_class: dict[str, list[WardState]] = {}
    for ward in wards:
        by_class.setdefault(ward.bed_class, []).append(ward)
    classes = []
    for bed_class, members in by_class.items():
        updated_at = max(w.reported_at for w in members)
        classes.append(
            ClassAvailability(
                bed_class=bed_class,
                capacity=sum(w.capacity for w in members),
                available=sum(w.available for w in members),
                available_male=_sum_optional(w.available_male for w in members),
                available_female=_sum_optional(w.available_female for w in members),
                waiting=_sum_optional(w.waiting for w in members),
                updated_at=updated_at,
                stale=now - updated_at > stale_after,
            )
        )
    return classes


class Point(NamedTuple):
    """A position with its latitude's radians and cosine worked out once."""

    phi: float
    cos_phi: float
    lon: float


def point(lat: float, lon: float) -> Point:
    phi = math.radians(lat)
    return Point(phi, math.cos(phi), lon)


def great_circle_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine) in kilometres."""
    dp, dl = b.phi - a.phi, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + a.cos_phi * b.cos_phi * math.sin(dl / 2) ** 2
    return 6371.0088 * 2 * math.asin(math.sqrt(h))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return great_circle_km(point(lat1, lon1), point(lat2, lon2))


def hospital_availability(
    state: HospitalState,
    flt: AvailabilityFilter,
    now: datetime,
    stale_after: timedelta,
) -> HospitalAvailability | None:
    """The public view of one hospital under a filter, or None when the filter excludes it."""
    if flt.region is not None and state.region_code != flt.region:
        return None
    wards = state.wards
    if flt.bed_class is not None:
        wards = [w for w in wards if w.bed_class == flt.bed_class]
    classes = summarize_classes(wards, now, stale_after)
    if flt.bed_class is not None and not classes:
        return None
    if flt.available_only:
        classes = [c for c in classes if c.available > 0]
        if not classes:
            return None
    updated_at = max((c.updated_at for c in classes), default=None)
    distance = None
    if flt.near is not None and state.lat is not None and state.lon is not None:
        distance = round(distance_km(flt.near[0], flt.near[1], state.lat, state.lon), 2)
    return HospitalAvailability(
        code=state.code,
        name=state.name,
        kind=state.kind,
        region_code=state.region_code,
        address=state.address,
        phone=state.phone,
        lat=state.lat,
        lon=state.lon,
        updated_at=updated_at,
        stale=updated_at is None or now - updated_at > stale_after,
        classes=classes,
        distance_km=distance,
    )


def availability(
    states: Iterable[HospitalState],
    version: int,
    flt: AvailabilityFilter,
    stale_after: timedelta,
    now: datetime | None = None,
) -> AvailabilityResponse:
    now = now or datetime.now(UTC)
    hospitals = [
        view
        for state in states
        if (view := hospital_availability(state, flt, now, stale_after)) is not None
    ]
    if flt.near is not None:
        hospitals.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, h.code))
    else:
        hospitals.sort(key=lambda h: h.code)
    if flt.limit is not None:
        hospitals = hospitals[: flt.limit]
    return AvailabilityResponse(version=version, generated_at=now, hospitals=hospitals)


def hospital_detail(
    state: HospitalState, stale_after: timedelta, now: datetime | None = None
) -> HospitalDetail:
    now = now or datetime.now(UTC)
    classes = summarize_classes(state.wards, now, stale_after)
    updated_at = max((c.updated_at for c in classes), default=None)
    wards = [
        WardAvailability(
            ward_code=w.ward_code,
            name=w.name,
            bed_class=w.bed_class,
            capacity=w.capacity,
            available=w.available,
            available_male=w.available_male,
            available_female=w.available_female,
            waiting=w.waiting,
            updated_at=w.reported_at,
            stale=now - w.reported_at > stale_after,
        )
        for w in state.wards
    ]
    return HospitalDetail(
        code=state.code,
        name=state.name,
        kind=state.kind,
        region_code=state.region_code,
        address=state.address,
        phone=state.phone,
        lat=state.lat,
        lon=state.lon,
        version=state.version,
        updated_at=updated_at,
        stale=updated_at is None or now - updated_at > stale_after,
        classes=classes,
        wards=wards,
    )
