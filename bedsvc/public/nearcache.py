"""Each worker's near-cache of the public documents, already encoded and gzipped.

It listens to the change feed and holds, per response variant (region x bed class x
available_only), the JSON body and its gzip form, and per hospital the encoded view of it under
each (bed class, available_only) filter. A variant's body is those per-hospital fragments
joined in code order, so a change re-encodes one hospital, and `near=` re-sorts the fragments
and splices in the distance instead of encoding the document again.

Nothing is rebuilt when a change arrives: a cached piece remembers the state, version and
stale count it was built from and is rebuilt on the first request that finds them changed. The
event loop runs one request at a time, so concurrent requests share that one rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeVar

import msgspec

from bedsvc.availability import (
    AvailabilityFilter,
    HospitalState,
    Point,
    great_circle_km,
    hospital_availability,
    hospital_detail,
    point,
)
from bedsvc.feed import ChangeFeed
from bedsvc.public.encoded import Encoded, Encoding
from bedsvc.public.staleness import Staleness
from bedsvc.settings import Settings

K = TypeVar("K")
T = TypeVar("T")
VariantKey = tuple[str | None, str | None, bool]
FilterKey = tuple[str | None, bool]

_encoder = msgspec.json.Encoder()
# Variants and filters are keyed by client-chosen strings: past this many, the oldest goes.
_MAX_ENTRIES = 1024


class _Entry(NamedTuple):
    """What a document needs of one hospital: its code, encoded view and position."""

    code: str
    body: bytes
    position: Point | None


class _Fragment:
    """One hospital under one filter; `entry` is None when the filter leaves it out."""

    __slots__ = ("entry", "stale", "state")

    def __init__(self, state: HospitalState, stale: int, entry: _Entry | None) -> None:
        self.state = state
        self.stale = stale
        self.entry = entry


class _Variant:
    __slots__ = ("built_at", "document", "entries", "epoch", "generation", "version")

    def __init__(
        self,
        generation: int,
        version: int,
        epoch: int,
        built_at: datetime,
        entries: list[_Entry],
        document: Encoded,
    ) -> None:
        self.generation = generation
        self.version = version
        self.epoch = epoch
        self.built_at = built_at
        self.entries = entries
        self.document = document


class _Detail:
    __slots__ = ("document", "stale", "state")

    def __init__(self, state: HospitalState, stale: int, document: Encoded) -> None:
        self.state = state
        self.stale = stale
        self.document = document


def _etag(version: int, stale: int) -> bytes:
    return b'W/"%d.%d"' % (version, stale)


def _document_etag(version: int, fingerprint: int, stale: int) -> bytes:
    # The global version alone could be equal for two states (each a change ahead of the
    # other in another hospital) of two workers; the fingerprint tells them apart.
    return b'W/"%d.%x.%d"' % (version, fingerprint, stale)


def _same(a: HospitalState, b: HospitalState) -> bool:
    # After a reload the states are new objects, mostly equal to the old ones.
    return a is b or a == b


def _prune(cached: dict[str, T], hospitals: Mapping[str, HospitalState]) -> None:
    for code in [code for code in cached if code not in hospitals]:
        del cached[code]


def _make_room(cached: dict[K, T]) -> None:
    if len(cached) >= _MAX_ENTRIES:
        del cached[next(iter(cached))]


def _document(version: int, built_at: datetime, hospitals: list[bytes]) -> bytes:
    """The encoding of `AvailabilityResponse` around already-encoded, comma-separated
    hospitals, copied once."""
    head = b'{"version":%d,"generated_at":%b,"hospitals":[' % (
        version,
        _encoder.encode(built_at),
    )
    return b"".join([head, *hospitals, b"]}"])


def _in_order(entries: list[_Entry]) -> list[bytes]:
    parts: list[bytes] = []
    for entry in entries:
        parts += (entry.body, b",")
    return parts[:-1]


def _nearest_first(entries: list[_Entry], near: Point, limit: int | None) -> list[bytes]:
    """The hospitals nearest first, each with its `distance_km`."""
    ranked = []
    for index, entry in enumerate(entries):
        if entry.position is None:
            ranked.append((True, 0.0, entry.code, index))
        else:
            distance = round(great_circle_km(near, entry.position), 2)
            ranked.append((False, distance, entry.code, index))
    ranked.sort()
    parts: list[bytes] = []
    for missing, distance, _, index in ranked[:limit]:
        body = entries[index].body
        if missing:
            parts += (body, b",")
        else:
            # `distance_km` is the view's last field: it goes before the closing brace.
            parts += (body[:-1], b',"distance_km":', _encoder.encode(distance), b"}", b",")
    return parts[:-1]


class PublicCache:
    """A `FeedListener`: the public documents of the feed's current state."""

    def __init__(self, feed: ChangeFeed, settings: Settings) -> None:
        self.feed = feed
        self.encoding = Encoding(
            settings.public_gzip_level,
            settings.public_max_age_seconds,
            settings.public_stale_while_revalidate_seconds,
        )
        self.staleness = Staleness(timedelta(seconds=settings.stale_after_seconds))
        self._fragments: dict[FilterKey, dict[str, _Fragment]] = {}
        self._variants: dict[VariantKey, _Variant] = {}
        self._details: dict[str, _Detail] = {}
        self._regions: dict[str, str] = {}
        self._codes: dict[str | None, list[str]] | None = None
        # Counts reloads: whatever was built before one is rebuilt (reusing equal fragments).
        self._generation = 0

    # FeedListener

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        self.staleness.update(code, state, datetime.now(UTC))
        region = None if state is None else state.region_code
        if self._regions.get(code) != region:
            self._codes = None

    def reloaded(self, version: int) -> None:
        self.staleness.reset(self.feed.hospitals.values(), datetime.now(UTC))
        self._codes = None
        self._generation += 1

    # Reads

    def clock(self) -> None:
        """Brings the stale counts up to date if a ward may have crossed the threshold."""
        if self.staleness.due():
            self._now()

    def etag(self) -> bytes:
        """The ETag every availability document has right now, whatever its filter."""
        self.clock()
        return _document_etag(self.feed.version, self.feed.fingerprint, self.staleness.total)

    def hospital_etag(self, code: str) -> bytes | None:
        self.clock()
        state = self.feed.hospitals.get(code)
        if state is None:
            return None
        return _etag(state.version, self.staleness.counts.get(code, 0))

    def availability(self, flt: AvailabilityFilter) -> Encoded:
        self.clock()
        key = (flt.region, flt.bed_class, flt.available_only)
        variant = self._variants.get(key)
        if (
            variant is None
            or variant.version != self.feed.version
            or variant.epoch != self.staleness.total
            or variant.generation != self._generation
        ):
            variant = self._build_variant(key)
        if flt.near is None and flt.limit is None:
            return variant.document
        if flt.near is None:
            hospitals = _in_order(variant.entries[: flt.limit])
        else:
            hospitals = _nearest_first(variant.entries, point(*flt.near), flt.limit)
        body = _document(variant.version, variant.built_at, hospitals)
        return Encoded(variant.document.etag, body, self.encoding)

    def hospital(self, code: str) -> Encoded | None:
        self.clock()
        state = self.feed.hospitals.get(code)
        if state is None:
            return None
        stale = self.staleness.counts.get(code, 0)
        detail = self._details.get(code)
        if detail is not None and detail.stale == stale and _same(detail.state, state):
            detail.state = state
            return detail.document
        now = self._now()
        stale = self.staleness.counts.get(code, 0)
        body = _encoder.encode(hospital_detail(state, self.staleness.stale_after, now))
        document = Encoded(_etag(state.version, stale), body, self.encoding)
        if len(self._details) > len(self.feed.hospitals):
            _prune(self._details, self.feed.hospitals)
        self._details[code] = _Detail(state, stale, document)
        return document

    # Building

    def _now(self) -> datetime:
        # The stale flags of everything built now must agree with the counts in the ETag.
        now = datetime.now(UTC)
        self.staleness.catch_up(self.feed.hospitals, now)
        return now

    def _codes_in(self, region: str | None) -> list[str]:
        if self._codes is None:
            hospitals = self.feed.hospitals
            self._regions = {code: state.region_code for code, state in hospitals.items()}
            codes: dict[str | None, list[str]] = {None: sorted(hospitals)}
            for code in codes[None]:
                codes.setdefault(self._regions[code], []).append(code)
            self._codes = codes
            for fragments in self._fragments.values():
                _prune(fragments, hospitals)
        return self._codes.get(region, [])

    def _build_variant(self, key: VariantKey) -> _Variant:
        region, bed_class, available_only = key
        now = self._now()
        version, epoch = self.feed.version, self.staleness.total
        fragments = self._fragments_for((bed_class, available_only))
        hospitals, counts = self.feed.hospitals, self.staleness.counts
        entries = []
        for code in self._codes_in(region):
            state, fragment = hospitals[code], fragments.get(code)
            # Inline check first: after a change, all but one hospital pass it.
            if (
                fragment is not None
                and fragment.state is state
                and fragment.stale == counts.get(code, 0)
            ):
                entry = fragment.entry
            else:
                entry = self._entry(fragments, state, bed_class, available_only, now)
            if entry is not None:
                entries.append(entry)
        body = _document(version, now, _in_order(entries))
        etag = _document_etag(version, self.feed.fingerprint, epoch)
        document = Encoded(etag, body, self.encoding)
        variant = _Variant(self._generation, version, epoch, now, entries, document)
        if key not in self._variants:
            _make_room(self._variants)
        self._variants[key] = variant
        return variant

    def _fragments_for(self, key: FilterKey) -> dict[str, _Fragment]:
        fragments = self._fragments.get(key)
        if fragments is None:
            _make_room(self._fragments)
            fragments = self._fragments[key] = {}
        return fragments

    def _entry(
        self,
        fragments: dict[str, _Fragment],
        state: HospitalState,
        bed_class: str | None,
        available_only: bool,
        now: datetime,
    ) -> _Entry | None:
        stale = self.staleness.counts.get(state.code, 0)
        fragment = fragments.get(state.code)
        if fragment is not None and fragment.stale == stale and _same(fragment.state, state):
            fragment.state = state
            return fragment.entry
        flt = AvailabilityFilter(bed_class=bed_class, available_only=available_only)
        view = hospital_availability(state, flt, now, self.staleness.stale_after)
        entry = None
        if view is not None:
            position = None
            if state.lat is not None and state.lon is not None:
                position = point(state.lat, state.lon)
            entry = _Entry(state.code, _encoder.encode(view), position)
        fragments[state.code] = _Fragment(state, stale, entry)
        return entry
