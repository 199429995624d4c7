from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, HeaderParameter, QueryParameter

from bedsvc.errors import unknown_hospital
from bedsvc.problems import problem_responses
from bedsvc.public.availability import AvailabilityFilter, AvailabilityResponse, HospitalDetail
from bedsvc.public.params import checked_filter, parse_near
from bedsvc.public.replies import Reply, availability_reply, hospital_reply
from bedsvc.public.service import PublicService

IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="if-none-match", description="An ETag from an earlier response"),
]
AcceptEncoding = Annotated[
    str | None, HeaderParameter(name="accept-encoding", description="gzip is offered")
]

# Decimal degrees in range, e.g. -6.71,108.55: what parse_near accepts, for the schema.
_LAT = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)"
_LON = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)"
NEAR_PATTERN = rf"^{_LAT},{_LON}$"

_CACHED = (
    "Served from each worker's cache of the current state. The weak ETag is the version and "
    "the number of stale wards; send it back in If-None-Match to get 304 Not Modified."
)
_NOT_MODIFIED = {304: ResponseSpec(None, description="Not modified since the given ETag")}
_CACHE_HEADERS = [
    ResponseHeader(name="ETag", description='W/"version.stale_wards"', documentation_only=True),
    ResponseHeader(name="Cache-Control", documentation_only=True),
    ResponseHeader(name="Vary", description="Accept-Encoding", documentation_only=True),
]


def _raw(header: str | None) -> bytes | None:
    return None if header is None else header.encode("latin-1")


def _response(reply: Reply) -> Response[Any]:
    headers = {
        name.decode(): value.decode("latin-1")
        for name, value in reply.headers
        if name not in (b"content-type", b"content-length")
    }
    return Response(reply.body, status_code=reply.status, headers=headers)


class BedClassOut(msgspec.Struct, frozen=True):
    code: str
    name_id: str
    name_en: str
    aplicares_codes: list[str]
    sirs_ids: list[int]
    edxl_bed_types: list[str]
    is_intensive: bool


class PublicController(Controller):
    path = "/api/v1"
    tags = ["public"]

    @get(
        "/availability",
        summary="Free beds per hospital and class",
        description=_CACHED,
        responses=_NOT_MODIFIED | problem_responses(422),
        response_headers=_CACHE_HEADERS,
    )
    async def availability(
        self,
        public: NamedDependency[PublicService],
        region: Annotated[
            str | None,
            QueryParameter(
                max_length=32,
                description="Kemendagri region code, e.g. 3274; names at /api/v1/regions",
            ),
        ] = None,
        bed_class: Annotated[str | None, QueryParameter(max_length=32)] = None,
        available_only: FromQuery[bool] = False,
        near: Annotated[
            str | None,
            QueryParameter(description="'lat,lon': sort nearest first", pattern=NEAR_PATTERN),
        ] = None,
        limit: Annotated[int | None, QueryParameter(ge=1, le=5000)] = None,
        if_none_match: IfNoneMatch = None,
        accept_encoding: AcceptEncoding = None,
    ) -> Response[AvailabilityResponse]:
        region, bed_class = checked_filter(
            region, bed_class, public.cache.regions(), public.bed_class_codes
        )
        flt = AvailabilityFilter(
            region=region,
            bed_class=bed_class,
            available_only=available_only,
            near=parse_near(near),
            limit=limit,
        )
        reply = availability_reply(public.cache, flt, _raw(if_none_match), _raw(accept_encoding))
        return _response(reply)

    @get(
        "/hospitals/{hospital_code:str}",
        summary="One hospital with its wards",
        description=_CACHED,
        responses=_NOT_MODIFIED | problem_responses(404),
        response_headers=_CACHE_HEADERS,
    )
    async def hospital(
        self,
        public: NamedDependency[PublicService],
        hospital_code: FromPath[str],
        if_none_match: IfNoneMatch = None,
        accept_encoding: AcceptEncoding = None,
    ) -> Response[HospitalDetail]:
        reply = hospital_reply(
            public.cache, hospital_code, _raw(if_none_match), _raw(accept_encoding)
        )
        if reply is None:
            raise unknown_hospital(hospital_code)
        return _response(reply)

    @get("/bed-classes", summary="The bed-class vocabulary and its mappings")
    async def bed_classes(self, public: NamedDependency[PublicService]) -> list[BedClassOut]:
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
            for c in public.bed_classes
        ]
