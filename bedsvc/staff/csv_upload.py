"""`POST /api/v1/hospitals/{code}/occupancy.csv`: many wards at once from a spreadsheet.

The file is one report: every line is checked first and nothing is applied when any line is
bad; one refusal lists every error of the file, each naming its line (the header is line 1)
and column, in Bahasa Indonesia for the ward staff who read it. Files come as spreadsheets
save them: `;` or `,`, a UTF-8 byte-order mark, CRLF line ends, quoted fields. A column left
out of the header keeps the wards' current values, as the entry form does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, RawBody

from bedsvc.access.actor import Actor, attribution
from bedsvc.access.guards import hospital_actor_guard
from bedsvc.errors import FieldError, InvalidInput
from bedsvc.ingest.schemas import IngestResult, OccupancyReport, WardReport, check_report
from bedsvc.ingest.service import IngestService
from bedsvc.ingest.write import apply_report
from bedsvc.problems import problem_responses
from bedsvc.store.states import WardState, load_state

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
# Absent from the header, these keep the ward's current values, as the entry form does.
_KEPT = ("name", "available_male", "available_female", "waiting")
_INTEGERS = frozenset({"capacity", "available", "available_male", "available_female", "waiting"})
# ASCII digits only: str.isdigit() also takes "²" and "٣", and int() of thousands of digits
# raises. Six digits are more than any count a ward has.
_NUMBER = re.compile(r"[0-9]{1,6}")
_WARD_FIELD = re.compile(r"^wards\[(\d+)\]\.?(.*)$")
_MSGSPEC_PATH = re.compile(r" - at `\$\.(\w+)`$")
# What each column must hold, for a value that does not fit its shape.
_SHAPES = {
    "ward_code": "kode ruang harus 1-64 karakter: huruf, angka, _ . atau -, diawali huruf atau "
    "angka",
    "name": "nama ruang paling banyak 200 karakter, tanpa karakter kendali",
    "bed_class": "kode kelas harus 1-32 karakter",
    "capacity": "harus bilangan bulat 0 sampai 100000",
    "available": "harus bilangan bulat 0 sampai 100000",
    "available_male": "harus bilangan bulat 0 sampai 100000",
    "available_female": "harus bilangan bulat 0 sampai 100000",
    "waiting": "harus bilangan bulat 0 sampai 100000",
}


def _shown(value: str) -> str:
    return value if len(value) <= 20 else value[:20] + "…"


def _line_error(line: int, column: str, reason: str) -> FieldError:
    return FieldError(
        field=f"line {line}.{column}" if column else f"line {line}",
        reason=reason,
        line=line,
        column=column or None,
    )


def _fail(errors: list[FieldError]) -> InvalidInput:
    """One refusal with every error of the file, by line, in Bahasa Indonesia."""
    ordered = sorted(errors, key=lambda e: (e.line or 0, e.column or ""))
    parts = [
        f"baris {e.line}" + (f", kolom {e.column}" if e.column else "") + f": {e.reason}"
        for e in ordered
    ]
    count = len(ordered)
    return InvalidInput(
        f"Berkas CSV ditolak, {count} kesalahan, tidak ada yang disimpan. " + "; ".join(parts),
        ordered,
    )


def _delimiter(text: str) -> str:
    """`;` (spreadsheets in an Indonesian locale) or `,`, from the header line."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header(row: list[str]) -> list[str]:
    header = [name.strip().lower() for name in row]
    known = ", ".join(COLUMNS)
    errors = [
        _line_error(1, name or f"#{index + 1}", f"kolom tidak dikenal; kolom yang dikenal: {known}")
        for index, name in enumerate(header)
        if name not in COLUMNS
    ]
    errors += [
        _line_error(1, name, "kolom ini tercantum lebih dari sekali")
        for name in sorted({n for n in header if header.count(n) > 1 and n in COLUMNS})
    ]
    errors += [
        _line_error(1, name, "kolom wajib ini tidak ada") for name in sorted(REQUIRED - set(header))
    ]
    if errors:
        raise _fail(errors)
    return header


class _Row(msgspec.Struct, frozen=True):
    line: int
    values: dict[str, Any]


def _values(
    line: int, header: list[str], row: list[str], bed_classes: frozenset[str]
) -> _Row | list[FieldError]:
    if len(row) != len(header):
        return [_line_error(line, "", f"{len(row)} nilai untuk {len(header)} kolom")]
    values: dict[str, Any] = {}
    errors = []
    for name, raw in zip(header, row, strict=True):
        value = raw.strip()
        if not value:
            if name in REQUIRED:
                errors.append(_line_error(line, name, "wajib diisi"))
            else:
                values[name] = None  # an empty cell clears the value
            continue
        if name == "bed_class" and value not in bed_classes:
            errors.append(
                _line_error(
                    line,
                    name,
                    f"kelas '{_shown(value)}' tidak dikenal; pakai salah satu kode: "
                    + ", ".join(sorted(bed_classes)),
                )
            )
            continue
        if name in _INTEGERS:
            if not _NUMBER.fullmatch(value):
                errors.append(
                    _line_error(
                        line, name, f"'{_shown(value)}' bukan bilangan bulat 0 sampai 999999"
                    )
                )
                continue
            values[name] = int(value)
        else:
            values[name] = value
    return errors or _Row(line, values)


def _keep(row: _Row, now: WardState, kept: list[str]) -> _Row:
    """The ward's current values of the columns the file leaves out; by-sex counts that no
    longer fit the new number available are dropped rather than refused (the file did not
    give them)."""
    values = {name: getattr(now, name) for name in kept} | row.values
    available = values.get("available")
    by_sex = [name for name in ("available_male", "available_female") if name in kept]
    total = sum(values.get(name) or 0 for name in ("available_male", "available_female"))
    if by_sex and isinstance(available, int) and total > available:
        values |= dict.fromkeys(by_sex, None)
    return _Row(row.line, values)


def _ward(row: _Row) -> WardReport | list[FieldError]:
    try:
        return msgspec.convert(row.values, WardReport)
    except msgspec.ValidationError as exc:
        found = _MSGSPEC_PATH.search(str(exc))
        column = found.group(1) if found else ""
        return [_line_error(row.line, column, _SHAPES.get(column, "nilai tidak sah"))]


def _rules(
    row: _Row,
    ward: WardReport,
    max_capacity: int,
    first_lines: dict[str, int],
) -> list[FieldError]:
    """The rules of check_report, worded for ward staff and named by line."""
    line = row.line
    errors = []
    if ward.ward_code in first_lines:
        errors.append(
            _line_error(
                line,
                "ward_code",
                f"ruang '{ward.ward_code}' sudah ada di baris {first_lines[ward.ward_code]}",
            )
        )
    else:
        first_lines[ward.ward_code] = line
    if ward.capacity > max_capacity:
        errors.append(
            _line_error(
                line,
                "capacity",
                f"kapasitas {ward.capacity} melebihi batas {max_capacity} tempat tidur per ruang",
            )
        )
    if ward.available > ward.capacity:
        errors.append(
            _line_error(
                line,
                "available",
                f"tersedia ({ward.available}) melebihi kapasitas ({ward.capacity})",
            )
        )
    by_sex = (ward.available_male or 0) + (ward.available_female or 0)
    if by_sex > ward.available:
        errors.append(
            _line_error(
                line,
                "available_male",
                f"tersedia pria + wanita ({by_sex}) melebihi tersedia ({ward.available})",
            )
        )
    return errors


def parse_wards(
    text: str,
    max_wards: int,
    bed_classes: frozenset[str],
    max_capacity: int,
    current: Mapping[str, WardState] | None = None,
) -> tuple[list[WardReport], list[int]]:
    """The wards and the line each came from; raises with every error of the file at once.

    `current`: the hospital's wards now; a column absent from the header keeps their values."""
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    try:
        first = next(reader, None)
    except csv.Error:
        raise _fail([_line_error(1, "", "baris judul tidak bisa dibaca sebagai CSV")]) from None
    if first is None or not any(cell.strip() for cell in first):
        raise _fail([_line_error(1, "", "berkas kosong: baris judul, lalu satu baris per ruang")])
    header = _header(first)
    kept = [name for name in _KEPT if name not in header]
    wards: list[WardReport] = []
    lines: list[int] = []
    errors: list[FieldError] = []
    first_lines: dict[str, int] = {}
    rows = 0
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            if rows > max_wards:
                errors.append(
                    _line_error(reader.line_num, "", f"paling banyak {max_wards} ruang per berkas")
                )
                break
            row = _values(reader.line_num, header, cells, bed_classes)
            if isinstance(row, list):
                errors += row
                continue
            if current is not None and (now := current.get(str(row.values.get("ward_code")))):
                row = _keep(row, now, kept)
            ward = _ward(row)
            if isinstance(ward, list):
                errors += ward
                continue
            errors += _rules(row, ward, max_capacity, first_lines)
            wards.append(ward)
            lines.append(row.line)
    except csv.Error:
        errors.append(
            _line_error(
                reader.line_num, "", "baris tidak bisa dibaca sebagai CSV (periksa tanda kutip)"
            )
        )
    if errors:
        raise _fail(errors)
    if not wards:
        raise _fail(
            [_line_error(2, "", "tidak ada ruang: satu baris per ruang setelah baris judul")]
        )
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


def template(wards: Iterable[WardState]) -> str:
    """The hospital's current wards as an upload file: `;`-separated with a byte-order mark,
    so that a spreadsheet in an Indonesian locale opens it in columns and saves it back."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for ward in wards:
        writer.writerow(["" if (v := getattr(ward, name)) is None else v for name in COLUMNS])
    return "\ufeff" + out.getvalue()


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
        ingest: NamedDependency[IngestService],
        hospital_code: FromPath[str],
        body: RawBody,
    ) -> IngestResult:
        """The same as the JSON push, reported now, with the API key or the ward-staff session
        (and `X-CSRF-Token`). A bad line applies nothing; each error names its line."""
        limits = ingest.limits
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _fail(
                [_line_error(1, "", 'berkas bukan teks UTF-8: simpan sebagai "CSV UTF-8"')]
            ) from None
        async with ingest.pool.acquire() as conn:
            _, state = await load_state(conn, ingest.queries, hospital_code)
        current = {w.ward_code: w for w in state.wards} if state is not None else {}
        wards, lines = parse_wards(
            text,
            limits.max_wards_per_report,
            ingest.bed_class_codes,
            limits.max_ward_capacity,
            current,
        )
        now = datetime.now(UTC)
        csv_report = OccupancyReport(reported_at=now, wards=wards)
        try:
            check_report(
                csv_report,
                ingest.bed_class_codes,
                now=now,
                max_future=timedelta(seconds=limits.max_future_seconds),
                max_wards=limits.max_wards_per_report,
                max_capacity=limits.max_ward_capacity,
            )
        except InvalidInput as exc:
            raise _by_line(exc, lines) from None
        written = await apply_report(
            ingest.pool,
            ingest.queries,
            ingest.sync,
            hospital_code,
            csv_report,
            max_open_wards=limits.max_wards_per_hospital,
            **attribution(actor),
        )
        return written.result

    @get(
        "/occupancy.csv",
        summary="The hospital's current wards as a CSV file to fill in and upload",
        media_type="text/csv; charset=utf-8",
        responses=problem_responses(401, 403, 404, 429, 503),
    )
    async def download(
        self, ingest: NamedDependency[IngestService], hospital_code: FromPath[str]
    ) -> Response[str]:
        """The upload's template: its header and one line per open ward with today's values
        (`;`-separated, UTF-8 with a byte-order mark, as spreadsheets save CSV)."""
        async with ingest.pool.acquire() as conn:
            _, state = await load_state(conn, ingest.queries, hospital_code)
        wards = state.wards if state is not None else []
        return Response(
            template(wards),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="ruang-{hospital_code}.csv"',
                "Cache-Control": "no-store",
            },
        )
