"""What the near-cache's own work costs, in process: rebuilding after a change, sorting by
distance, and gzip (zlib's and ISA-L's levels) on the documents bedsvc serves.

    python -m loadtests.inprocess

The documents are built by the near-cache from the load-test data set; no servers needed.
"""

from __future__ import annotations

import gzip
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
from isal import igzip

from bedsvc.public.availability import AvailabilityFilter
from bedsvc.public.nearcache import PublicCache
from bedsvc.settings import Settings
from bedsvc.store.states import HospitalState, WardState
from loadtests.dataset import CITY, Hospital, generate


class _Snapshot:
    """What the near-cache reads of a change feed: a version and the hospitals."""

    version = 1

    def __init__(self, hospitals: list[Hospital]) -> None:
        now = datetime.now(UTC)
        self.hospitals = {
            h.code: _state(h, now - timedelta(seconds=n)) for n, h in enumerate(hospitals)
        }


def _state(hospital: Hospital, reported_at: datetime) -> HospitalState:
    info = hospital.info
    wards = [
        WardState(
            ward_code=w.code,
            name=w.name,
            bed_class=w.bed_class,
            capacity=w.capacity,
            available=w.available,
            available_male=None,
            available_female=None,
            waiting=None,
            reported_at=reported_at,
            received_at=reported_at,
        )
        for w in hospital.wards
    ]
    return HospitalState(
        code=info.code,
        name=info.name,
        kind=info.kind,
        region_code=info.region_code,
        address=info.address,
        phone=info.phone,
        lat=info.lat,
        lon=info.lon,
        version=1,
        wards=wards,
    )


def _best(compress: Callable[[bytes], bytes], body: bytes) -> float:
    return min(timeit.repeat(lambda: compress(body), number=10, repeat=5))


def _per_call(work: Callable[[], object], number: int) -> float:
    work()
    return min(timeit.repeat(work, number=number, repeat=5)) / number


def near_cache_costs(cache: PublicCache, snapshot: _Snapshot) -> None:
    full = AvailabilityFilter()

    def after_a_change() -> None:
        # As the feed applies a change of one hospital: one fragment encoded again, one join.
        snapshot.version += 1
        code = next(iter(snapshot.hospitals))
        state = msgspec.structs.replace(snapshot.hospitals[code], version=snapshot.version)
        snapshot.hospitals[code] = state
        cache.hospital_changed(snapshot.version, code, state)
        cache.availability(full)

    def after_a_change_gzipped() -> None:
        after_a_change()
        cache.availability(full).gzipped()

    near = AvailabilityFilter(region=CITY, near=(-6.71, 108.55))
    costs = {
        "cached full document (a hit)": _per_call(lambda: cache.availability(full), 2000),
        "ETag for a 304": _per_call(cache.etag, 2000),
        "full document after a change": _per_call(after_a_change, 100),
        "full document after a change, with gzip": _per_call(after_a_change_gzipped, 50),
        "region + near (40 hospitals)": _per_call(lambda: cache.availability(near), 200),
        "region + near, with gzip": _per_call(lambda: cache.availability(near).gzipped(), 200),
    }
    print("near-cache:")
    for label, seconds in costs.items():
        print(f"  {label:42} {seconds * 1e6:9,.1f} us")


def main() -> None:
    snapshot = _Snapshot(generate())
    cache = PublicCache(snapshot, Settings(database_url="-", redis_url="-"))  # type: ignore[arg-type]
    cache.reloaded(1)
    near_cache_costs(cache, snapshot)
    documents = {
        "full document": cache.availability(AvailabilityFilter()).body,
        "region + near": cache.availability(
            AvailabilityFilter(region=CITY, near=(-6.71, 108.55))
        ).body,
    }
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "zlib 1": lambda body: gzip.compress(body, 1, mtime=0),
        "zlib 6": lambda body: gzip.compress(body, 6, mtime=0),
        "ISA-L 0": lambda body: igzip.compress(body, 0, mtime=0),
        "ISA-L 1": lambda body: igzip.compress(body, 1, mtime=0),
        "ISA-L 3": lambda body: igzip.compress(body, 3, mtime=0),
    }
    for name, body in documents.items():
        print(f"gzip of the {name}, {len(body):,} bytes:")
        for label, compress in compressors.items():
            seconds = _best(compress, body)
            print(f"  {label:8} {seconds / 10 * 1e6:8,.0f} us  {len(compress(body)):8,} bytes")


if __name__ == "__main__":
    main()
