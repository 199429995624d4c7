"""Request bodies and headers of the hospital push API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any


def report(
    *wards: dict[str, Any], at: datetime | None = None, minutes_ago: float = 1
) -> dict[str, Any]:
    reported_at = at or datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"reported_at": reported_at.isoformat(), "wards": list(wards)}


def ward(
    code: str = "MAWAR",
    bed_class: str = "KL3",
    capacity: int = 20,
    available: int = 3,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ward_code": code,
        "name": f"Ruang {code.title()}",
        "bed_class": bed_class,
        "capacity": capacity,
        "available": available,
        **extra,
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def document_etag(version: int, stale: int = 0) -> re.Pattern[str]:
    """The ETag of the documents at a global version: `W/"<version>.<fingerprint>.<stale>"`."""
    return re.compile(rf'W/"{version}\.[0-9a-f]+\.{stale}"')
