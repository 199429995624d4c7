"""The pure rules of the public read path, without a server: gzip and ETag negotiation, and
which query strings the fast path answers itself."""

from __future__ import annotations

import pytest

from bedsvc.public.availability import AvailabilityFilter
from bedsvc.public.fastpath import _filter
from bedsvc.public.replies import accepts_gzip, etag_matches


@pytest.mark.parametrize(
    ("accept_encoding", "gzip"),
    [
        (None, False),
        (b"", False),
        (b"gzip", True),
        (b"GZIP", True),
        (b"br, gzip;q=0.5", True),
        (b"gzip;q=0", False),
        (b"gzip; q=0.0, *", False),
        (b"x-gzip", True),
        (b"*", True),
        (b"*;q=0", False),
        (b"identity", False),
        (b"gzip;q=nonsense", False),
        (b"deflate, *;q=0.1", True),
    ],
)
def test_gzip_unless_refused(accept_encoding: bytes | None, gzip: bool) -> None:
    assert accepts_gzip(accept_encoding) is gzip


@pytest.mark.parametrize(
    ("if_none_match", "matches"),
    [
        (b'W/"7.ab.0"', True),
        (b'"7.ab.0"', True),  # weak comparison: a strong tag of the same value matches
        (b'W/"6.ab.0", W/"7.ab.0"', True),
        (b"*", True),
        (b'W/"7.ab.1"', False),
        (b'W/"7.ab"', False),
        (b"", False),
    ],
)
def test_etag_weak_comparison(if_none_match: bytes, matches: bool) -> None:
    assert etag_matches(if_none_match, b'W/"7.ab.0"') is matches


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"", AvailabilityFilter()),
        (b"region=3274", AvailabilityFilter(region="3274")),
        (
            b"bed_class=ICU&available_only=true",
            AvailabilityFilter(bed_class="ICU", available_only=True),
        ),
        (b"limit=25", AvailabilityFilter(limit=25)),
        (b"near=-6.7,108.5", AvailabilityFilter(near=(-6.7, 108.5))),
        (b"near=-6.7%2C108.5", AvailabilityFilter(near=(-6.7, 108.5))),
        (b"unknown=1&region=3274", AvailabilityFilter(region="3274")),
    ],
)
def test_plain_queries_are_answered_by_the_fast_path(
    query: bytes, expected: AvailabilityFilter
) -> None:
    assert _filter(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"region=3274&region=3209",  # repeated: the documented handler decides
        b"reg%69on=3274",  # an encoded name
        b"region=32%2074",  # an encoded value
        b"available_only=yes",
        b"limit=0",
        b"limit=007",
        b"limit=5001",
        b"limit=-1",
        b"near=north",
        b"near=91,0",
    ],
)
def test_anything_else_is_left_to_the_documented_handler(query: bytes) -> None:
    assert _filter(query) is None
