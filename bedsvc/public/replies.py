"""The HTTP semantics of the cached public reads, shared by the fast path and the handlers.

Conditional requests (`If-None-Match` -> 304 without a body) and content negotiation (gzip
only for a client that accepts it) are decided here, on raw header bytes, so both ways in
answer byte for byte the same.
"""

from __future__ import annotations

from typing import NamedTuple

from cachetools import LRUCache

from bedsvc.public.availability import AvailabilityFilter
from bedsvc.public.encoded import Encoded, Headers, not_modified_headers
from bedsvc.public.nearcache import PublicCache


class Reply(NamedTuple):
    status: int
    headers: Headers
    body: bytes


# Clients send few distinct Accept-Encoding values; remember their verdicts, least recently
# used out, for values up to _MAX_REMEMBERED_BYTES (longer ones are parsed every time).
_gzip_verdicts: LRUCache[bytes, bool] = LRUCache(256)
_MAX_REMEMBERED_BYTES = 256


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """RFC 9110 section 12.5.3: gzip unless refused with q=0 (also via `*`)."""
    if not accept_encoding:
        return False
    verdict = _gzip_verdicts.get(accept_encoding)
    if verdict is None:
        verdict = _parse_accept_encoding(accept_encoding)
        if len(accept_encoding) <= _MAX_REMEMBERED_BYTES:
            _gzip_verdicts[accept_encoding] = verdict
    return verdict


def _parse_accept_encoding(value: bytes) -> bool:
    weights: dict[bytes, float] = {}
    for item in value.lower().split(b","):
        coding, *params = (part.strip() for part in item.split(b";"))
        weight = 1.0
        for param in params:
            name, _, number = param.partition(b"=")
            if name.strip() == b"q":
                try:
                    weight = float(number)
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    if b"gzip" in weights:
        return weights[b"gzip"] > 0
    if b"x-gzip" in weights:
        return weights[b"x-gzip"] > 0
    return weights.get(b"*", 0.0) > 0


def etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison (RFC 9110 section 13.1.2), as If-None-Match requires."""
    if if_none_match == etag:
        return True
    opaque = etag.removeprefix(b"W/")
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == opaque:
            return True
    return False


def _ok(document: Encoded, accept_encoding: bytes | None) -> Reply:
    if accepts_gzip(accept_encoding):
        zipped = document.gzipped()
        if zipped is not None:
            return Reply(200, zipped[0], zipped[1])
    return Reply(200, document.headers, document.body)


def availability_reply(
    cache: PublicCache,
    flt: AvailabilityFilter,
    if_none_match: bytes | None,
    accept_encoding: bytes | None,
) -> Reply:
    if if_none_match is not None:
        # One ETag for every filter: each document follows from the version and stale wards.
        etag = cache.etag()
        if etag_matches(if_none_match, etag):
            return Reply(304, not_modified_headers(etag, cache.encoding), b"")
    return _ok(cache.availability(flt), accept_encoding)


def hospital_reply(
    cache: PublicCache,
    code: str,
    if_none_match: bytes | None,
    accept_encoding: bytes | None,
) -> Reply | None:
    """None for an unknown hospital."""
    if if_none_match is not None:
        etag = cache.hospital_etag(code)
        if etag is not None and etag_matches(if_none_match, etag):
            return Reply(304, not_modified_headers(etag, cache.encoding), b"")
    document = cache.hospital(code)
    return None if document is None else _ok(document, accept_encoding)
