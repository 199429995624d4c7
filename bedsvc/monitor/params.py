"""Query parameters of the monitor API that need more than a type: durations and time ranges."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bedsvc.errors import invalid

_DURATION = re.compile(r"\A(\d{1,6})(s|m|h|d)\Z")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=400)
MIN_BUCKET = timedelta(minutes=1)
# A JSON history answer is held in memory whole; past this many buckets, use the CSV export.
MAX_JSON_BUCKETS = 5000
# Times outside these are mistakes, and near datetime's own limits arithmetic on them fails.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_duration(field: str, text: str) -> timedelta:
    """'90s', '30m', '1h', '7d'."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise invalid(field, "expected a number and a unit s, m, h or d, e.g. 30m or 1h")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise invalid(field, "must be longer than zero")
    return timedelta(seconds=seconds)


def parse_time(field: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise invalid(field, "expected an ISO 8601 time, e.g. 2026-11-22T19:00:00+07:00") from None
    if value.tzinfo is None:
        raise invalid(field, "needs a UTC offset, e.g. +07:00 or Z")
    if not EARLIEST <= value <= LATEST:
        raise invalid(field, "must lie between 1970 and 9000")
    return value


class TimeRange:
    """[start, stop) split into buckets of one size."""

    def __init__(self, start: datetime, stop: datetime, bucket: timedelta) -> None:
        self.start, self.stop, self.bucket = start, stop, bucket

    @property
    def buckets(self) -> int:
        return -(-(self.stop - self.start) // self.bucket)


def time_range(start: str | None, stop: str | None, bucket: str) -> TimeRange:
    end = parse_time("to", stop) if stop else datetime.now(UTC)
    begin = parse_time("from", start) if start else end - DEFAULT_RANGE
    size = parse_duration("bucket", bucket)
    if begin >= end:
        raise invalid("from", "must lie before 'to'")
    if end - begin > MAX_RANGE:
        raise invalid("from", f"the range may span at most {MAX_RANGE.days} days")
    if size < MIN_BUCKET:
        raise invalid("bucket", "must be at least 1m")
    return TimeRange(begin, end, size)
