"""`bedsvc hospitals import`: the registry from a CSV file, good rows kept, bad ones reported."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from bedsvc.access.actor import OPERATOR
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.errors import BedsvcError
from bedsvc.store import connect_pool, load_queries

COLUMNS = (
    "code",
    "name",
    "kind",
    "region_code",
    "address",
    "phone",
    "lat",
    "lon",
    "bpjs_ppk_code",
    "region_name",  # optional
    "reminder_emails",  # optional: addresses separated by spaces or commas
    "telegram_chat_ids",  # optional: chat ids separated by spaces or commas
)
# Absent, these columns keep what the registry holds; present but empty, they clear it.
LIST_COLUMNS = ("reminder_emails", "telegram_chat_ids")
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass
class ImportReport:
    saved: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_row(row: dict[str, str | None]) -> HospitalIn:
    values: dict[str, object] = {
        k: (v or "").strip() for k, v in row.items() if k in COLUMNS and k not in LIST_COLUMNS
    }
    values = {k: v for k, v in values.items() if v != ""}
    for name in LIST_COLUMNS:
        if name in row:
            values[name] = [item for item in _SEPARATORS.split(row[name] or "") if item]
    # strict=False: CSV cells are text, msgspec turns "-6.71" into a float for lat/lon.
    return msgspec.convert(values, HospitalIn, strict=False)


async def import_csv(database_url: str, path: Path) -> ImportReport:
    report = ImportReport()
    queries = load_queries()
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = {"code", "name", "region_code"} - set(reader.fieldnames or [])
            if missing:
                report.errors.append((1, f"header lacks column(s): {', '.join(sorted(missing))}"))
                return report
            for row in reader:
                line = reader.line_num
                try:
                    hospital = parse_row(row)
                    # No cache here: the running service's reconciler sees the new version.
                    await save_hospital(pool, queries, None, hospital, OPERATOR)
                except (ValueError, msgspec.ValidationError, BedsvcError) as exc:
                    report.errors.append((line, str(exc)))
                else:
                    report.saved += 1
    finally:
        await pool.close()
    return report
