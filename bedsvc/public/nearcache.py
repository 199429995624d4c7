"""Each worker's near-cache of the public documents, already encoded and gzipped.

It listens to the change feed and holds, per response variant (region x bed class x
available_only), the JSON body and its gzip form, and per hospital the encoded view of it under
each (bed class, available_only) filter. A variant's body is those per-hospital fragments
joined in code order, so a change re-encodes one hospital, and `near=` re-sorts the fragments
and splices in the distance instead of encoding the document again.

Nothing is rebuilt when a change arrives: a cached piece remembers the state, version and
stale count it was built from and is rebuilt on the first request that finds them changed. The
event loop runs one request at a time, so concurrent requests share that one rebuild.

The live frames (bedsvc/live/) splice the same per-hospital fragments (`live_view`), so a
change is encoded once per filter for the documents and the live stream alike. Documents are
kept within `BEDSVC_PUBLIC_CACHE_MAX_BYTES`, least recently used first out; filters are known
regions and bed classes only (unknown ones are refused before they get here), so the fragment
tables are bounded by the vocabulary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeVar

import msgspec
from cachetools import LRUCache

from bedsvc.public.availability import (
    AvailabilityFilter,
    Point,
    great_circle_km,
    hospital_availability,
    hospital_detail,
    point,
)
from bedsvc.public.encoded import Encoded, Encoding, View
from bedsvc.public.staleness import Staleness
from bedsvc.settings import Settings
from bedsvc.state.feed import ChangeFeed
from bedsvc.store.states import HospitalState

T = TypeVar("T")
VariantKey = tuple[str | None, str | None, bool]
FilterKey = tuple[str | None, bool]
DocumentKey = tuple[str, str | None, str | None, bool]

_encoder = msgspec.json.Encoder()
# What a cached document is counted as: its body, room for its gzip form, and the rest.
_GZIP_SHARE = 0.25
_OVERHEAD = 512


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


def _cost(document: _Variant | _Detail) -> float:
    return len(document.document.body) * (1 + _GZIP_SHARE) + _OVERHEAD


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

    def __init__(
        self, feed: ChangeFeed, settings: Settings, bed_classes: frozenset[str] = frozenset()
    ) -> None:
        self.feed = feed
        self.bed_classes = bed_classes
        self.encoding = Encoding(
            settings.public.public_gzip_level,
            settings.public.public_max_age_seconds,
            settings.public.public_stale_while_revalidate_seconds,
        )
        self.staleness = Staleness(timedelta(seconds=settings.ingest.stale_after_seconds))
        self._fragments: dict[FilterKey, dict[str, _Fragment]] = {}
        self._documents: LRUCache[DocumentKey, _Variant | _Detail] = LRUCache(
            settings.public.public_cache_max_bytes, getsizeof=_cost
        )
        self._regions: dict[str, str] = {}
        self._known_regions: frozenset[str] = frozenset()
        self._codes: dict[str | None, list[str]] | None = None
        # Counts reloads: whatever was built before one is rebuilt (reusing equal fragments).
        self._generation = 0
        # Hospitals changed since the stale counts were last brought up to date.
        self._changed: set[str] = set()

    # FeedListener

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        # Recounted when something is next read (`_settle`): every process hears every
        # change, most of them between two reads, and a hospital often several times.
        self._changed.add(code)
        region = None if state is None else state.region_code
        if self._regions.get(code) != region:
            self._codes = None

    def reloaded(self, version: int) -> None:
        self._changed.clear()
        self.staleness.reset(self.feed.hospitals.values(), datetime.now(UTC))
        self._codes = None
        self._generation += 1

    def _settle(self, now: datetime) -> None:
        """The stale counts of the hospitals that changed since the last read."""
        if self._changed:
            self.staleness.update(self._changed, self.feed.hospitals, now)
            self._changed = set()

    # Reads

    def clock(self) -> None:
        """Brings the stale counts up to date: the hospitals that changed, and those whose
        wards may have crossed the threshold."""
        if self._changed or self.staleness.due():
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
        variant = self._documents.get(("availability", *key))
        if (
            not isinstance(variant, _Variant)
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
        detail = self._documents.get(("hospital", code, None, False))
        if isinstance(detail, _Detail) and detail.stale == stale and _same(detail.state, state):
            detail.state = state
            return detail.document
        now = self._now()
        stale = self.staleness.counts.get(code, 0)
        body = _encoder.encode(hospital_detail(state, self.staleness.stale_after, now))
        document = Encoded(_etag(state.version, stale), body, self.encoding)
        self._keep(("hospital", code, None, False), _Detail(state, stale, document))
        return document

    def _keep(self, key: DocumentKey, document: _Variant | _Detail) -> None:
        # One larger than the whole budget is served, not kept.
        with contextlib.suppress(ValueError):
            self._documents[key] = document

    def regions(self) -> frozenset[str]:
        """The regions of the listed hospitals: the values a `region` filter may take."""
        self._codes_in(None)
        return self._known_regions

    # The live stream's side (bedsvc/live/hub.py)

    def live_view(self, code: str, region: str | None, bed_class: str | None) -> View | None:
        """A hospital's fragment under a live filter: the bytes the documents splice."""
        state = self.feed.hospitals.get(code)
        if state is None or (region is not None and state.region_code != region):
            return None
        fragments = self._fragments_for((bed_class, False))
        entry = self._entry(fragments, state, bed_class, False, self._now())
        return None if entry is None else View(entry.body, state.version)

    def clock_changes(self) -> set[str]:
        self.clock()
        turned = self.staleness.turned
        self.staleness.turned = set()
        return turned

    def stale_due(self) -> bool:
        # A public read may have caught the clock up already: its turns wait to be taken.
        return self.staleness.due() or bool(self.staleness.turned)

    # Building

    def _now(self) -> datetime:
        # The stale flags of everything built now must agree with the counts in the ETag.
        now = datetime.now(UTC)
        self._settle(now)
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
            self._known_regions = frozenset(self._regions.values())
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
        self._keep(("availability", *key), variant)
        return variant

    def _fragments_for(self, key: FilterKey) -> dict[str, _Fragment]:
        fragments = self._fragments.get(key)
        if fragments is None:
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
