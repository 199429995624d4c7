"""Public facts from the registry that the availability document does not carry: region names
(with how many listed hospitals each has) and which hospitals are BPJS partners.

Read from PostgreSQL at most once a minute per worker: the registry changes rarely, and the
public read path must not cost a query per request.
"""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from msgspec import Meta

from bedsvc.problems import problem_responses
from bedsvc.public.service import PublicService

_TTL_SECONDS = 60.0
_CACHE_CONTROL = {"Cache-Control": "public, max-age=60"}


class Region(msgspec.Struct, frozen=True):
    code: Annotated[str, Meta(description="Kemendagri region code, e.g. 3274 (Kota Cirebon)")]
    name: Annotated[str, Meta(description="The registry's name; the code when it has none")]
    hospitals: Annotated[int, Meta(description="Listed hospitals in the region")]


class RegistryFacts(msgspec.Struct):
    fetched_at: float
    region_names: dict[str, str]
    bpjs_partners: list[str]


async def _facts(state: State, public: PublicService) -> RegistryFacts:
    facts: RegistryFacts | None = getattr(state, "registry_facts", None)
    now = time.monotonic()
    if facts is not None and now - facts.fetched_at < _TTL_SECONDS:
        return facts
    async with public.pool.acquire() as conn:
        names = {row.code: row.name or row.code async for row in public.queries.region_names(conn)}
        partners = [row.code async for row in public.queries.bpjs_partner_codes(conn)]
    facts = RegistryFacts(fetched_at=now, region_names=names, bpjs_partners=partners)
    state.registry_facts = facts
    return facts


class RegistryController(Controller):
    path = "/api/v1"
    tags = ["public"]

    @get(
        "/regions",
        summary="Regions with listed hospitals, by name",
        responses=problem_responses(503),
    )
    async def regions(
        self, state: State, public: NamedDependency[PublicService]
    ) -> Response[list[Region]]:
        """`region=` of the other public routes takes these codes (Kemendagri). The names come
        from the registry; the counts are of listed hospitals now."""
        facts = await _facts(state, public)
        counts: dict[str, int] = {}
        for hospital in public.cache.feed.hospitals.values():
            counts[hospital.region_code] = counts.get(hospital.region_code, 0) + 1
        regions = [
            Region(code=code, name=facts.region_names.get(code, code), hospitals=count)
            for code, count in sorted(counts.items())
        ]
        return Response(regions, headers=_CACHE_CONTROL)

    @get(
        "/bpjs-partners",
        summary="Codes of the listed hospitals that are BPJS partners",
        responses=problem_responses(503),
    )
    async def bpjs_partners(
        self, state: State, public: NamedDependency[PublicService]
    ) -> Response[list[str]]:
        """A hospital is a BPJS partner when the registry has its BPJS PPK code."""
        facts = await _facts(state, public)
        return Response(facts.bpjs_partners, headers=_CACHE_CONTROL)
