"""What per-message deflate would cost the live stream, per connection: compressor memory,
CPU per frame and bytes saved, with the `websockets` library's memory-saving settings
(window bits 12, memLevel 5, context takeover). In process, a few seconds:

    python -m loadtests.live.deflate
"""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime

import msgspec

CLASSES = ("KL1", "KL2", "KL3", "ICU", "VIP")


def frame() -> bytes:
    """A `changes` frame of one hospital with five classes, as bedsvc sends it."""
    now = datetime.now(UTC)
    hospital = {
        "code": "3274011",
        "name": "RSUD Gunung Jati",
        "kind": "RSUD",
        "region_code": "3274",
        "address": "Jl. Kesambi No. 56, Kota Cirebon",
        "phone": "(0231) 206330",
        "lat": -6.7196,
        "lon": 108.5567,
        "updated_at": now,
        "stale": False,
        "classes": [
            {
                "bed_class": c,
                "capacity": 20,
                "available": 3,
                "available_male": 1,
                "available_female": 2,
                "waiting": 0,
                "updated_at": now,
                "stale": False,
            }
            for c in CLASSES
        ],
    }
    return msgspec.json.encode(
        {
            "type": "changes",
            "version": 123456,
            "hospitals": [hospital],
            "removed": [],
            "versions": {"3274011": 57},
        }
    )


def compressor() -> zlib._Compress:
    return zlib.compressobj(wbits=-12, memLevel=5)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def main() -> None:
    payload = frame()
    before = rss()
    held = [compressor() for _ in range(2000)]
    for one in held:
        one.compress(payload)
        one.flush(zlib.Z_SYNC_FLUSH)
    per_connection = (rss() - before) / len(held)
    one = compressor()
    first = len(one.compress(payload) + one.flush(zlib.Z_SYNC_FLUSH))
    count = 20_000
    started = time.perf_counter()
    for _ in range(count):
        again = one.compress(payload) + one.flush(zlib.Z_SYNC_FLUSH)
    seconds = (time.perf_counter() - started) / count
    print(
        f"frame {len(payload)} B -> {first} B compressed, {len(again)} B with the context; "
        f"{per_connection / 1024:.1f} KiB of compressor per connection; "
        f"{seconds * 1e6:.1f} us per frame per connection "
        f"({seconds * 10_000 * 1000:.0f} ms for 10,000 connections)"
    )


if __name__ == "__main__":
    main()
