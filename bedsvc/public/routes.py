from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from bedsvc.availability import (
    AvailabilityFilter,
    AvailabilityResponse,
    HospitalDetail,
    availability,
    hospital_detail,
)
from bedsvc.errors import NotFound, invalid
from bedsvc.services import Services


class BedClassOut(msgspec.Struct, frozen=True):
    code: str
    name_id: str
    name_en: str
    aplicares_codes: list[str]
    sirs_ids: list[int]
    edxl_bed_types: list[str]
    is_intensive: bool


def parse_near(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    try:
        lat_text, lon_text = near.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise invalid("near", "expected 'lat,lon' in decimal degrees, e.g. -6.71,108.55") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise invalid("near", "latitude must lie in [-90, 90] and longitude in [-180, 180]")
    return lat, lon


class PublicController(Controller):
    path = "/api/v1"
    tags = ["public"]

    @get("/availability", summary="Free beds per hospital and class")
    async def availability(
        self,
        services: NamedDependency[Services],
        region: Annotated[str | None, QueryParameter(max_length=32)] = None,
        bed_class: Annotated[str | None, QueryParameter(max_length=32)] = None,
        available_only: FromQuery[bool] = False,
        near: Annotated[
            str | None, QueryParameter(description="'lat,lon': sort nearest first")
        ] = None,
        limit: Annotated[int | None, QueryParameter(ge=1, le=5000)] = None,
    ) -> AvailabilityResponse:
        flt = AvailabilityFilter(
            region=region,
            bed_class=bed_class,
            available_only=available_only,
            near=parse_near(near),
            limit=limit,
        )
        feed = services.feed
        return availability(feed.hospitals.values(), feed.version, flt, services.stale_after)

    @get("/hospitals/{hospital_code:str}", summary="One hospital with its wards")
    async def hospital(
        self, services: NamedDependency[Services], hospital_code: FromPath[str]
    ) -> HospitalDetail:
        state = services.feed.hospitals.get(hospital_code)
        if state is None:
            raise NotFound(f"No hospital with code '{hospital_code}'.")
        return hospital_detail(state, services.stale_after)

    @get("/bed-classes", summary="The bed-class vocabulary and its mappings")
    async def bed_classes(self, services: NamedDependency[Services]) -> list[BedClassOut]:
        return [
            BedClassOut(
                code=c.code,
                name_id=c.name_id,
                name_en=c.name_en,
                aplicares_codes=c.aplicares_codes,
                sirs_ids=c.sirs_ids,
                edxl_bed_types=c.edxl_bed_types,
                is_intensive=c.is_intensive,
            )
            for c in services.bed_classes
        ]
