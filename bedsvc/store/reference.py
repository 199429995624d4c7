"""Reference data that operators keep in PostgreSQL (sql/queries/reference.sql)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from bedsvc.store.db import Conn
from bedsvc.store.queries import Queries


@dataclass(frozen=True, slots=True)
class BedClass:
    code: str
    name_id: str
    name_en: str
    aplicares_codes: list[str]
    sirs_ids: list[int]
    edxl_bed_types: list[str]
    is_intensive: bool


async def load_bed_classes(conn: Conn, queries: Queries) -> list[BedClass]:
    """In the operators' order."""
    return [
        msgspec.convert(row, BedClass, from_attributes=True)
        async for row in queries.list_bed_classes(conn)
    ]
