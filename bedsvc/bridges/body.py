"""Request bodies as SIMRS bridges really send them.

PHP cURL labels a JSON string `application/x-www-form-urlencoded` unless told otherwise, some
bridges post real form fields, and numbers arrive as strings ("12", " 3", "" for none). So the
body is read raw, decoded by its content, and converted leniently into the payload's Struct.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import msgspec
from litestar import Request
from litestar.status_codes import HTTP_400_BAD_REQUEST

from bedsvc.errors import BedsvcError, FieldError, InvalidInput

T = TypeVar("T")

_MISSING_FIELD = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_AT_FIELD = re.compile(r"^(?P<reason>.*) - at `\$\.(?P<field>[^`\[]+)")


class MalformedBody(BedsvcError):
    status_code = HTTP_400_BAD_REQUEST
    title = "Malformed body"


def decode_fields(raw: bytes) -> dict[str, Any]:
    """A JSON object, or form fields, as a dict of field to value."""
    text = raw.strip()
    if not text:
        return {}
    if text[:1] in (b"{", b"["):
        try:
            decoded = msgspec.json.decode(text)
        except msgspec.DecodeError:
            raise MalformedBody("Isi permintaan bukan JSON yang valid.") from None
        except RecursionError:  # msgspec's own depth limit, reached by deeply nested input
            raise MalformedBody("Isi permintaan terlalu bertingkat (JSON bersarang).") from None
        if not isinstance(decoded, dict):
            raise MalformedBody("Isi permintaan harus satu objek JSON.")
        return decoded
    try:
        return dict(parse_qsl(text.decode(), keep_blank_values=True, strict_parsing=True))
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody("Isi permintaan bukan JSON maupun data formulir yang valid.") from None


def _clean(value: Any, as_text: bool = False) -> Any:
    if isinstance(value, str):
        return value.strip()
    if as_text and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a PHP bridge sends a numeric room code as a JSON number
    return value


_REASONS = (
    (">= 0", "tidak boleh negatif"),
    ("length >=", "wajib diisi"),
    ("length <=", "terlalu panjang"),
    ("<= ", "terlalu besar"),
    ("`int`", "harus bilangan bulat"),
    ("`str`", "harus teks"),
)


def _reason_id(reason: str) -> str:
    return next((text for marker, text in _REASONS if marker in reason), "tidak valid")


def _indonesian(error: msgspec.ValidationError) -> InvalidInput:
    message = str(error)
    missing = _MISSING_FIELD.search(message)
    if missing:
        field = missing["field"]
        return InvalidInput(f"{field} wajib diisi.", [FieldError(field, "wajib diisi")])
    at = _AT_FIELD.search(message)
    if at:
        field, reason = at["field"], at["reason"]
        return InvalidInput(
            f"{field} {_reason_id(reason)} ({reason}).", [FieldError(field, reason)]
        )
    return InvalidInput(f"Data tidak valid: {message}.", [FieldError("body", message)])


def convert_fields(
    fields: dict[str, Any],
    target: type[T],
    blank_is_none: frozenset[str] = frozenset(),
    text_fields: frozenset[str] = frozenset(),
) -> T:
    """Converts with strings accepted for numbers (and numbers for the text fields named);
    blank optional fields count as absent."""
    cleaned = {
        key: _clean(value, key in text_fields)
        for key, value in fields.items()
        if not (key in blank_is_none and _clean(value) in ("", None))
    }
    try:
        return msgspec.convert(cleaned, target, strict=False)
    except msgspec.ValidationError as exc:
        raise _indonesian(exc) from None


async def read_body(
    request: Request[Any, Any, Any],
    target: type[T],
    blank_is_none: frozenset[str] = frozenset(),
    text_fields: frozenset[str] = frozenset(),
) -> T:
    fields = decode_fields(await request.body())
    return convert_fields(fields, target, blank_is_none, text_fields)
