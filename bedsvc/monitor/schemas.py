"""The monitor API's response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec


class Occupancy(msgspec.Struct, frozen=True):
    """Beds of one class (or all classes) in one place; bor = occupied / capacity."""

    capacity: int
    occupied: int
    available: int
    bor: float | None


class ClassOccupancy(msgspec.Struct, frozen=True):
    bed_class: str
    capacity: int
    occupied: int
    available: int
    bor: float | None


class HospitalOccupancy(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    lat: float | None
    lon: float | None
    updated_at: datetime | None
    stale: bool
    total: Occupancy
    classes: list[ClassOccupancy]


class Summary(msgspec.Struct, frozen=True):
    region: str | None
    generated_at: datetime
    total: Occupancy
    classes: list[ClassOccupancy]
    hospitals: list[HospitalOccupancy]


class StaleWard(msgspec.Struct, frozen=True):
    ward_code: str
    name: str
    bed_class: str
    last_report_at: datetime
    age_seconds: int


class StaleHospital(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    phone: str
    stale: bool
    last_report_at: datetime | None
    age_seconds: int | None
    wards: list[StaleWard]


class StaleReport(msgspec.Struct, frozen=True):
    older_than_seconds: int
    generated_at: datetime
    hospitals: list[StaleHospital]


class HistoryPoint(msgspec.Struct, frozen=True):
    t: datetime
    capacity: int
    occupied: int
    available: int
    bor: float | None


class HistorySeries(msgspec.Struct, frozen=True):
    hospital: str
    bed_class: str
    points: list[HistoryPoint]


class History(msgspec.Struct, frozen=True):
    start: datetime = msgspec.field(name="from")
    stop: datetime = msgspec.field(name="to")
    bucket_seconds: int
    series: list[HistorySeries]


AlertRule = Literal["class_exhausted", "hospital_stale"]


class Alert(msgspec.Struct, frozen=True):
    id: int
    rule: AlertRule
    subject: str
    region_code: str | None
    hospital_code: str | None
    bed_class: str | None
    message: str
    fired_at: datetime
    resolved_at: datetime | None


class AlertListed(msgspec.Struct, frozen=True):
    id: int
    rule: AlertRule
    subject: str
    region_code: str | None
    hospital_code: str | None
    bed_class: str | None
    message: str
    fired_at: datetime
    resolved_at: datetime | None
    deliveries: int
    delivered: int
    failed: int


class AlertEvent(msgspec.Struct, frozen=True):
    """What a webhook receives; (alert.id, event) identifies a transition for deduplication."""

    event: Literal["fired", "resolved"]
    alert: Alert
    attempt: int
    sent_at: datetime


def bor(occupied: int, capacity: int) -> float | None:
    """Bed occupancy rate, to four places; undefined without beds."""
    return round(occupied / capacity, 4) if capacity else None
