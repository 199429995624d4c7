"""The live fan-out of one process: a listener of its change feed serving every local
subscriber, by filter group, one frame per group and tick.

Changes only mark hospitals dirty; the tick (bedsvc/live/ticker.py) turns them into one frame
per group that something changed for, hands it to every subscriber of the group that is in
step and can take it, and catches up the others from the group's current views (latest wins).
So what a subscriber costs per tick does not grow with the report rate, and one that cannot
keep up costs at most a set of hospital codes and what its connection already buffered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol

import structlog

from bedsvc.access.client_address import address_group
from bedsvc.live.access import TooManyConnections, TooManyFromAddress
from bedsvc.live.frames import Frame, changes_frame
from bedsvc.live.groups import FilterGroup, GroupKey, ViewSource
from bedsvc.live.messages import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW
from bedsvc.live.subscribers import Subscriber
from bedsvc.live.ticker import Ticker
from bedsvc.public.params import checked_filter
from bedsvc.settings import Settings
from bedsvc.state.feed import ChangeFeed
from bedsvc.store.states import HospitalState

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 1.0
# Snapshot bytes handed out per tick, at least one snapshot: `broadcast` writes without
# waiting, so what the sockets cannot take at once stays in memory until they drain. A
# reconnect storm of 10,000 clients with a 450 KB snapshot is served over a few seconds
# instead of asking for gigabytes in one go.
SNAPSHOT_BYTES_PER_TICK = 16 << 20


class LiveSource(ViewSource, Protocol):
    def clock_changes(self) -> set[str]:
        """Hospitals whose `stale` flags the clock changed since the last call."""

    def stale_due(self) -> bool:
        """Whether a report may have turned stale since the last look (cheap)."""

    def regions(self) -> frozenset[str]:
        """The regions of the listed hospitals."""


# A client over its limit of connections may try again once one of them ended.
RETRY_AFTER_SECONDS = 5


class LiveLimits:
    def __init__(self, settings: Settings) -> None:
        self.max_connections = settings.live.live_max_connections
        self.max_per_address = settings.live.live_max_connections_per_address
        self.ping_seconds = settings.live.live_ping_seconds
        self.send_timeout_seconds = settings.live.live_send_timeout_seconds
        self.resync_min_seconds = settings.live.live_resync_min_seconds
        self.tick_seconds = settings.live.live_tick_ms / 1000
        self.ipv6_prefix_length = settings.access.ipv6_prefix_length

    def address_group(self, host: str) -> str:
        """What the limit per address counts: IPv6 clients by their network."""
        return address_group(host, self.ipv6_prefix_length)


class LiveHub:
    def __init__(
        self,
        feed: ChangeFeed,
        source: LiveSource,
        bed_classes: frozenset[str],
        limits: LiveLimits,
        origins: frozenset[str] | None = None,
    ) -> None:
        self.feed = feed
        self.origins = origins  # None: any Origin may subscribe
        self.source = source
        self.bed_classes = bed_classes
        self.limits = limits
        self.groups: dict[GroupKey, FilterGroup[Subscriber]] = {}
        self.subscribers: dict[Subscriber, None] = {}
        self.per_address: Counter[str] = Counter()
        self.behind: dict[Subscriber, None] = {}
        self.dirty: set[str] = set()
        # The global version at which each hospital last changed, since `horizon` (the start
        # or the last reload): what a resuming client lacks can be told from it.
        self.changed_at: dict[str, int] = {}
        # Each hospital's region as the groups last saw it, and each region's hospitals: a
        # change concerns the groups of its region before and after and the unfiltered ones,
        # and a region's new group loads its region's hospitals, not the whole country.
        self.region_of: dict[str, str] = {}
        self.in_region: dict[str, set[str]] = {}
        self.horizon = 0
        self.version = 0  # of the last tick: what in-step subscribers hold
        self._reload = False
        self._closing: set[asyncio.Future[None]] = set()
        self.ticker = Ticker(self, limits.tick_seconds, SWEEP_SECONDS)

    def start(self) -> None:
        self.horizon = self.version = self.feed.version
        self._remember_regions()
        self.feed.add_listener(self)
        self.ticker.start()

    async def stop(self) -> None:
        """Closes every subscriber at once; none is waited for."""
        self.feed.remove_listener(self)
        await self.ticker.stop()
        for subscriber in tuple(self.subscribers):
            subscriber.end(CLOSE_GOING_AWAY, "server shutting down")
        log.info("live subscribers closed")

    # Admission

    def check_filter(self, region: str | None, bed_class: str | None) -> GroupKey:
        return checked_filter(region, bed_class, self.source.regions(), self.bed_classes)

    def admit(self, address: str) -> None:
        """Refuses a connection over the process's or the address's limit."""
        if len(self.subscribers) >= self.limits.max_connections:
            raise TooManyConnections("This server holds its maximum of live connections.")
        if self.per_address[address] >= self.limits.max_per_address:
            raise TooManyFromAddress(
                f"At most {self.limits.max_per_address} live connections per client address.",
                retry_after=RETRY_AFTER_SECONDS,
            )

    def group(self, key: GroupKey) -> FilterGroup[Subscriber]:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = FilterGroup[Subscriber](key, self.source)
            group.load(self._hospitals_in(key[0]))
        return group

    def join(self, subscriber: Subscriber) -> None:
        self.subscribers[subscriber] = None
        self.per_address[subscriber.address] += 1
        subscriber.group.subscribers[subscriber] = None
        self.behind[subscriber] = None
        self.ticker.wake()

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber.closed:
            return
        subscriber.closed = True
        self.subscribers.pop(subscriber, None)
        self.behind.pop(subscriber, None)
        self.per_address[subscriber.address] -= 1
        if self.per_address[subscriber.address] <= 0:
            del self.per_address[subscriber.address]
        group = subscriber.group
        group.subscribers.pop(subscriber, None)
        if not group.subscribers and self.groups.get(group.key) is group:
            del self.groups[group.key]

    def resume(self, subscriber: Subscriber, since: int) -> bool:
        """Starts a subscriber after `since` with what changed since, when that can be told."""
        if not self.horizon <= since <= self.version:
            return False
        subscriber.needs_snapshot = False
        subscriber.last_version = since
        subscriber.pending = {
            code for code, at in self.changed_at.items() if since < at <= self.version
        }
        return True

    def request_resync(self, subscriber: Subscriber) -> None:
        """A client asked for a snapshot: at most one per `resync_min_seconds`."""
        subscriber.resync()
        subscriber.not_before = subscriber.snapshot_at + self.limits.resync_min_seconds
        self.behind[subscriber] = None
        self.ticker.wake()

    def closing(self, close: Coroutine[Any, Any, None]) -> None:
        """Runs a connection's close in the background (kept referenced until it is done)."""
        task = asyncio.ensure_future(close)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def writable_again(self, subscriber: Subscriber) -> None:
        if not subscriber.synced and not subscriber.closed:
            self.ticker.wake()

    # FeedListener

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        self.dirty.add(code)
        self.changed_at[code] = version
        self.ticker.wake()

    def reloaded(self, version: int) -> None:
        # What changed during a reload is not known hospital by hospital: everyone starts over.
        self.horizon = version
        self.changed_at.clear()
        self._reload = True
        self.ticker.wake()

    # The tick

    def tick(self) -> bool:
        clock = time.monotonic()
        version = self.feed.version
        if self._reload:
            self._reload = False
            self.dirty.clear()
            self._remember_regions()
            for group in self.groups.values():
                group.load(self._hospitals_in(group.key[0]))
            for subscriber in self.subscribers:
                subscriber.resync()
                self.behind[subscriber] = None
        codes = sorted(self.dirty | self.source.clock_changes())
        self.dirty = set()
        self.version = version
        if codes:
            by_region = self._by_region(codes)
            for group in tuple(self.groups.values()):
                region = group.key[0]
                concerned = codes if region is None else by_region.get(region)
                if not concerned:
                    continue
                changed = group.apply(concerned)
                if changed:
                    frame = changes_frame(version, changed)
                    self._fan_out(group, frame, [code for code, _ in changed], clock)
        return self._catch_up(clock)

    def _remember_regions(self) -> None:
        self.region_of = {code: state.region_code for code, state in self.feed.hospitals.items()}
        self.in_region = {}
        for code, region in self.region_of.items():
            self.in_region.setdefault(region, set()).add(code)

    def _hospitals_in(self, region: str | None) -> Iterable[str]:
        if region is None:
            return self.feed.hospitals
        return self.in_region.get(region, ())

    def _by_region(self, codes: list[str]) -> dict[str, list[str]]:
        """The changed hospitals (in order) by each region they were or are in."""
        by_region: dict[str, list[str]] = {}
        hospitals, region_of, in_region = self.feed.hospitals, self.region_of, self.in_region
        for code in codes:
            before = region_of.get(code)
            state = hospitals.get(code)
            now = None if state is None else state.region_code
            if now is not None:
                by_region.setdefault(now, []).append(code)
            if before == now:
                continue
            if before is not None:
                by_region.setdefault(before, []).append(code)
                in_region[before].discard(code)
            if now is None:
                del region_of[code]
            else:
                region_of[code] = now
                in_region.setdefault(now, set()).add(code)
        return by_region

    def _fan_out(
        self, group: FilterGroup[Subscriber], frame: Frame, codes: list[str], clock: float
    ) -> None:
        ready: dict[type[Subscriber], list[Subscriber]] = {}
        for subscriber in group.subscribers:
            if subscriber.synced and subscriber.writable:
                ready.setdefault(type(subscriber), []).append(subscriber)
            else:
                subscriber.fell_behind(codes)
                self.behind[subscriber] = None
        for kind, subscribers in ready.items():
            kind.deliver_all(subscribers, frame)
            for subscriber in subscribers:
                subscriber.sent(frame, clock)

    def _catch_up(self, clock: float) -> bool:
        """Sends each subscriber that is behind and can take a frame what it lacks; True when
        one that could take a frame must wait (a throttled resync, the snapshot budget)."""
        waiting = False
        budget = SNAPSHOT_BYTES_PER_TICK
        for subscriber in tuple(self.behind):
            if not subscriber.writable:
                continue  # `writable_again` wakes the ticker
            group = subscriber.group
            if subscriber.needs_snapshot:
                if clock < subscriber.not_before or budget <= 0:
                    waiting = True
                    continue
                snapshot = group.snapshot(self.version)
                budget -= len(snapshot.payload)
                frame: Frame | None = snapshot
                subscriber.needs_snapshot = False
                subscriber.snapshot_at = clock
            else:
                frame = group.catch_up(self.version, subscriber.pending)
            subscriber.pending = set()
            subscriber.synced = True
            del self.behind[subscriber]
            if frame is not None:
                subscriber.deliver(frame)
                subscriber.sent(frame, clock)
        return waiting

    def sweep(self, clock: float) -> bool:
        """Closes subscribers stuck for too long; pings the quiet ones; True when the clock
        turned a report stale (a tick is due)."""
        limits = self.limits
        for subscriber in tuple(self.subscribers):
            busy_since = subscriber.busy_since
            if busy_since is not None:
                if clock - busy_since > limits.send_timeout_seconds:
                    log.info("closing a subscriber too slow to receive")
                    subscriber.end(CLOSE_TOO_SLOW, "too slow to receive")
                    self.leave(subscriber)
            elif clock - subscriber.last_sent > limits.ping_seconds:
                subscriber.last_sent = clock
                subscriber.ping()
        return self.source.stale_due()
