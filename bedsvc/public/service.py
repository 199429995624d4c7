"""What the public routes read, built once per worker: the near-cache (every hospital as the
change feed has it), the bed classes, and the registry's reference data in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bedsvc.public.nearcache import PublicCache
from bedsvc.store import Queries
from bedsvc.store.reference import BedClass


@dataclass(frozen=True, slots=True)
class PublicService:
    cache: PublicCache
    bed_classes: list[BedClass]
    pool: asyncpg.Pool
    queries: Queries

    @property
    def bed_class_codes(self) -> frozenset[str]:
        return self.cache.bed_classes
