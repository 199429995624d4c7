"""`POST /api/v1/hospitals/{code}/occupancy.csv`: many wards at once from a spreadsheet.

The file is one report: every line is checked first and nothing is applied when any line is
bad; the errors name the line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, RawBody

from bedsvc.access.actor import Actor, attribution
from bedsvc.access.guards import hospital_actor_guard
from bedsvc.errors import FieldError, InvalidInput, problem_responses
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardReport, check_report
from bedsvc.ingest.service import apply_report
from bedsvc.services import Services

COLUMNS = (
    "ward_code",
    "name",
    "bed_class",
    "capacity",
    "available",
    "available_male",
    "available_female",
    "waiting",
)
REQUIRED = frozenset({"ward_code", "bed_class", "capacity", "available"})
_INTEGERS = frozenset({"capacity", "available", "available_male", "available_female", "waiting"})
_WARD_FIELD = re.compile(r"^wards\[(\d+)\]\.?(.*)$")
_MSGSPEC_PATH = re.compile(r" - at `\$\.(\w+)`$")


def _fail(errors: list[FieldError]) -> InvalidInput:
    return InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errors), errors)


def _line_error(line: int, column: str, reason: str) -> FieldError:
    return FieldError(field=f"line {line}.{column}" if column else f"line {line}", reason=reason)


def _header(row: list[str]) -> list[str]:
    header = [name.strip().lower() for name in row]
    unknown = [name for name in header if name not in COLUMNS]
    missing = sorted(REQUIRED - set(header))
    errors = [_line_error(1, name, "unknown column") for name in unknown]
    errors += [_line_error(1, name, "missing column") for name in missing]
    if errors:
        raise _fail(errors)
    return header


def _ward(line: int, header: list[str], row: list[str]) -> WardReport | FieldError:
    if len(row) != len(header):
        return _line_error(line, "", f"{len(row)} values for {len(header)} columns")
    values: dict[str, Any] = {}
    for name, raw in zip(header, row, strict=True):
        value = raw.strip()
        if not value:
            continue
        if name in _INTEGERS:
            if not value.isdigit():
                return _line_error(line, name, f"'{value}' is not a whole number ≥ 0")
            values[name] = int(value)
        else:
            values[name] = value
    try:
        return msgspec.convert(values, WardReport)
    except msgspec.ValidationError as exc:
        message = str(exc)
        found = _MSGSPEC_PATH.search(message)
        column = found.group(1) if found else ""
        return _line_error(line, column, _MSGSPEC_PATH.sub("", message))


def parse_wards(text: str, max_wards: int) -> tuple[list[WardReport], list[int]]:
    """The wards and the line each came from; raises with every bad line."""
    reader = csv.reader(io.StringIO(text))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise _fail([_line_error(1, "", str(exc))]) from None
    if first is None:
        raise _fail([_line_error(1, "", "empty file: a header and one line per ward")])
    header = _header(first)
    wards: list[WardReport] = []
    lines: list[int] = []
    errors: list[FieldError] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) + len(errors) >= max_wards:
                errors.append(_line_error(reader.line_num, "", f"at most {max_wards} wards"))
                break
            parsed = _ward(reader.line_num, header, row)
            if isinstance(parsed, FieldError):
                errors.append(parsed)
            else:
                wards.append(parsed)
                lines.append(reader.line_num)
    except csv.Error as exc:
        errors.append(_line_error(reader.line_num, "", str(exc)))
    if errors:
        raise _fail(errors)
    if not wards:
        raise _fail([_line_error(2, "", "no ward: one line per ward after the header")])
    return wards, lines


def _by_line(exc: InvalidInput, lines: list[int]) -> InvalidInput:
    """The push's errors (`wards[2].available`) renamed to the file's lines."""
    errors = []
    for error in exc.errors:
        found = _WARD_FIELD.match(error.field)
        if found:
            errors.append(_line_error(lines[int(found.group(1))], found.group(2), error.reason))
        else:
            errors.append(error)
    return _fail(errors)


@dataclass
class CsvUploadOperation(Operation):
    """The request body is CSV text, which Litestar reads as raw `body` and so cannot infer."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="Header row, then one line per ward (UTF-8): " + ",".join(COLUMNS),
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
        )


class OccupancyCsvController(Controller):
    path = "/api/v1/hospitals/{hospital_code:str}"
    tags = ["hospital push"]
    guards = [hospital_actor_guard]

    @post(
        "/occupancy.csv",
        status_code=200,
        summary="Report many wards from a CSV file",
        operation_class=CsvUploadOperation,
        responses=problem_responses(401, 403, 404, 413, 415, 422, 429, 503),
    )
    async def upload(
        self,
        actor: NamedDependency[Actor],
        services: NamedDependency[Services],
        hospital_code: FromPath[str],
        body: RawBody,
    ) -> IngestResult:
        """The same as the JSON push, reported now, with the API key or the ward-staff session
        (and `X-CSRF-Token`). A bad line applies nothing; each error names its line."""
        settings = services.settings
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _fail([_line_error(1, "", "the file is not UTF-8 text")]) from None
        wards, lines = parse_wards(text, settings.max_wards_per_report)
        now = datetime.now(UTC)
        csv_report = OccupancyReport(reported_at=now, wards=wards)
        try:
            check_report(
                csv_report,
                services.bed_class_codes,
                now=now,
                max_future=timedelta(seconds=settings.max_future_seconds),
                max_wards=settings.max_wards_per_report,
            )
        except InvalidInput as exc:
            raise _by_line(exc, lines) from None
        written = await apply_report(
            services.pool,
            services.queries,
            services.sync,
            hospital_code,
            csv_report,
            max_open_wards=settings.max_wards_per_hospital,
            **attribution(actor),
        )
        return written.result
