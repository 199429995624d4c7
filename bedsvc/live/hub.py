"""The live fan-out: one listener of the worker's change feed serving every local subscriber.

Subscribers are grouped by filter. A change is turned into each group's public view once and
encoded once (`Frame`); every subscriber of the group is handed the same frame. A subscriber
keeps at most one unsent frame per hospital (latest wins), in version order, so a slow one
costs memory bounded by the number of hospitals and never holds up the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import structlog

from bedsvc.availability import (
    AvailabilityFilter,
    HospitalAvailability,
    HospitalState,
    availability,
    hospital_availability,
)
from bedsvc.feed import ChangeFeed
from bedsvc.live.access import allowed_origins
from bedsvc.live.messages import CLOSE_GOING_AWAY, CLOSE_TOO_SLOW, Delta, Removed, Snapshot, encoder
from bedsvc.settings import Settings

log = structlog.get_logger(__name__)

FilterKey = tuple[str | None, str | None]

# A snapshot encoded for a group is reused by the subscribers that join or resync within this
# many seconds at the same version (a reconnect storm costs one encoding, not thousands);
# short, because `stale` flags follow the clock.
SNAPSHOT_REUSE_SECONDS = 1.0

# Subscribers handed a frame before the fan-out lets the event loop run again. Measured: at
# 1,000 subscribers and 50 reports a second, a fan-out done in one go held up the ingest's
# transactions (which hold the version lock across their round trips) until reports queued.
FANOUT_SLICE = 256


# The ASGI send, with events as plain dicts.
RawSend = Callable[[dict[str, Any]], Awaitable[Any]]


class Frame:
    """One message, encoded once, as the ASGI events the transports send: each event is shared
    by every subscriber of the group."""

    __slots__ = ("_sse_event", "_ws_event", "late", "payload", "version")

    def __init__(self, version: int, payload: bytes, *, late: bool = False) -> None:
        self.version = version
        self.payload = payload
        # A change the feed applied after it had already moved past its version (a message
        # that arrived out of turn): a snapshot taken since may lack it.
        self.late = late
        self._ws_event: dict[str, Any] | None = None
        self._sse_event: dict[str, Any] | None = None

    @property
    def ws_event(self) -> dict[str, Any]:
        if self._ws_event is None:
            self._ws_event = {"type": "websocket.send", "text": self.payload.decode()}
        return self._ws_event

    @property
    def sse_event(self) -> dict[str, Any]:
        if self._sse_event is None:
            body = b"id: %d\ndata: %s\n\n" % (self.version, self.payload)
            self._sse_event = {"type": "http.response.body", "body": body, "more_body": True}
        return self._sse_event


# Answers known by their type, so that the fan-out's hot path skips the generic checks below
# (measured to cost as much as the send itself): futures are futures, and granian's answer for
# a body chunk its buffer took (not importable, so learnt when first seen) is complete by
# construction.
_FUTURES: set[type] = {asyncio.Future, asyncio.Task}
_TAKEN_AT_ONCE: set[type] = set()
_COMPLETE_BY_CONSTRUCTION = ("granian._granian", "PyEmptyAwaitable")


def in_flight(sent: Awaitable[Any]) -> asyncio.Future[Any] | None:
    """What to wait on until a send has completed, or None when it has already.

    granian starts a WebSocket send at once and answers with a future; an HTTP body chunk that
    fits its buffer is taken at once (the answer is an awaitable that is complete), one that
    does not gets a future. Other servers answer with a coroutine, run here as a task.
    """
    kind = type(sent)
    if kind in _TAKEN_AT_ONCE:
        return None
    if kind in _FUTURES:
        return cast(asyncio.Future[Any], sent)
    if hasattr(sent, "add_done_callback"):
        _FUTURES.add(kind)
        return cast(asyncio.Future[Any], sent)
    if asyncio.iscoroutine(sent):
        return asyncio.ensure_future(sent)
    try:
        waiting_on = next(sent.__await__())
    except StopIteration:
        if (kind.__module__, kind.__name__) == _COMPLETE_BY_CONSTRUCTION:
            _TAKEN_AT_ONCE.add(kind)
        return None
    # By asyncio's protocol an awaitable that is not done yields the future it waits on.
    return cast(asyncio.Future[Any], waiting_on)


class Subscriber:
    """One connection: what it has yet to be sent, and the send in flight to it.

    Frames are pushed to the server as they come while the previous send has completed; while
    one is in flight they wait in `pending`, one per hospital (latest wins), and the next goes
    out from the completion callback, without a task or coroutine per message. Transports say
    how a frame looks on their wire (`event_of`).
    """

    __slots__ = (
        "busy_since",
        "close_code",
        "close_reason",
        "closed",
        "done",
        "group",
        "hub",
        "last_version",
        "needs_snapshot",
        "pending",
        "send",
        "sending",
        "sent_count",
        "swept_count",
    )

    ping_event: dict[str, Any]

    def __init__(self, group: FilterGroup, send: RawSend, done: asyncio.Future[None]) -> None:
        self.hub = group.hub
        self.group = group
        self.send = send
        self.done = done
        self.pending: dict[str, Frame] = {}
        self.needs_snapshot = True
        self.last_version = 0
        self.closed = False
        self.sending = False
        self.busy_since = time.monotonic()
        self.sent_count = 0
        self.swept_count = 0
        self.close_code: int | None = None
        self.close_reason = ""

    def event_of(self, frame: Frame) -> dict[str, Any]:
        raise NotImplementedError

    def offer(self, code: str, frame: Frame) -> None:
        if self.closed:
            return
        if self.sending or self.needs_snapshot or self.pending:
            pending = self.pending
            # Re-inserting moves the hospital to the end: the dict stays in version order.
            pending.pop(code, None)
            pending[code] = frame
            return
        # The common case, a subscriber keeping up: straight to the server, nothing queued.
        if frame.version > self.last_version:
            self._transmit(self.event_of(frame), frame.version)
        elif frame.late:
            self.resync()

    def resync(self) -> None:
        self.pending.clear()
        self.needs_snapshot = True
        self.wake()

    def wake(self) -> None:
        if not self.sending and not self.closed:
            self._pump()

    def ping(self) -> None:
        if not self.sending and not self.closed:
            self._transmit(self.ping_event, self.last_version)

    def next_frame(self) -> Frame | None:
        if self.needs_snapshot:
            return self._snapshot()
        pending = self.pending
        while pending:
            frame = pending.pop(next(iter(pending)))
            if frame.version > self.last_version:
                return frame
            if frame.late:
                # Older than what this client holds, yet maybe not in its snapshot: only a
                # fresh snapshot keeps versions growing.
                return self._snapshot()
            # Otherwise it is part of the snapshot this client was sent since.
        return None

    def _snapshot(self) -> Frame:
        self.pending.clear()
        self.needs_snapshot = False
        return self.group.snapshot()

    def _pump(self) -> None:
        while not self.closed and (frame := self.next_frame()) is not None:
            if not self._transmit(self.event_of(frame), frame.version):
                return  # in flight: `_sent` carries on

    def _transmit(self, event: dict[str, Any], version: int) -> bool:
        """Hands one event to the server; True when it has been taken already."""
        self.last_version = version
        self.sent_count += 1
        try:
            waiter = in_flight(self.send(event))
        except (RuntimeError, OSError):
            self.close(None, "")  # the server has let go of the connection
            return False
        if waiter is None:
            return True
        self.sending = True
        self.busy_since = time.monotonic()
        waiter.add_done_callback(self._sent)
        return False

    def _sent(self, sent: asyncio.Future[Any]) -> None:
        self.sending = False
        if sent.cancelled() or sent.exception() is not None:
            self.close(None, "")  # the client is gone
        else:
            self.wake()

    def close(self, code: int | None, reason: str) -> None:
        """Ends the subscription; `code` None when the client is already gone."""
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        self.pending.clear()
        self.hub.leave(self)
        if not self.done.done():
            self.done.set_result(None)


class FilterGroup:
    """The subscribers sharing one filter, and the views they were last sent."""

    def __init__(self, hub: LiveHub, flt: AvailabilityFilter) -> None:
        self.hub = hub
        self.flt = flt
        self.subscribers: dict[Subscriber, None] = {}
        self.views: dict[str, HospitalAvailability] = {}
        self._snapshot: Frame | None = None
        self._snapshot_at = 0.0

    def load(self, hospitals: Iterable[HospitalState], now: datetime) -> None:
        stale_after = self.hub.stale_after
        self.views = {
            state.code: view
            for state in hospitals
            if (view := hospital_availability(state, self.flt, now, stale_after)) is not None
        }
        self._snapshot = None

    def change(
        self, version: int, code: str, state: HospitalState | None, now: datetime
    ) -> Frame | None:
        """The frame this change means to the group, or None when its subscribers see no
        difference."""
        view = None
        if state is not None:
            view = hospital_availability(state, self.flt, now, self.hub.stale_after)
        previous = self.views.get(code)
        if view is None:
            if previous is None:
                return None
            del self.views[code]
            payload = encoder.encode(Removed(version=version, code=code))
        else:
            if view == previous:
                return None
            self.views[code] = view
            payload = encoder.encode(Delta(version=version, hospital=view))
        self._snapshot = None
        return Frame(version, payload, late=version < self.hub.feed.version)

    def snapshot(self) -> Frame:
        feed = self.hub.feed
        cached = self._snapshot
        clock = time.monotonic()
        if (
            cached is not None
            and cached.version == feed.version
            and clock - self._snapshot_at < SNAPSHOT_REUSE_SECONDS
        ):
            return cached
        listing = availability(
            feed.hospitals.values(), feed.version, self.flt, self.hub.stale_after
        )
        frame = Frame(
            listing.version,
            encoder.encode(Snapshot(version=listing.version, hospitals=listing.hospitals)),
        )
        self._snapshot, self._snapshot_at = frame, clock
        return frame

    def changes_since(self, version: int) -> list[tuple[str, Frame]] | None:
        """What a client that holds everything up to `version` lacks, oldest first; None when
        that cannot be told from what this worker knows (then only a snapshot will do)."""
        hub = self.hub
        if version < hub.horizon or version > hub.feed.version:
            return None
        now = datetime.now(UTC)
        frames = []
        for code, state in hub.feed.hospitals.items():
            if state.version <= version:
                continue
            view = hospital_availability(state, self.flt, now, hub.stale_after)
            message = (
                Removed(version=state.version, code=code)
                if view is None
                else Delta(version=state.version, hospital=view)
            )
            frames.append((code, Frame(state.version, encoder.encode(message))))
        frames += [
            (code, Frame(removed_at, encoder.encode(Removed(version=removed_at, code=code))))
            for code, removed_at in hub.removed.items()
            if removed_at > version
        ]
        frames.sort(key=lambda item: item[1].version)
        return frames


class LiveHub:
    """Every live subscriber of this worker; a listener of its change feed."""

    def __init__(
        self,
        feed: ChangeFeed,
        stale_after: timedelta,
        *,
        max_connections: int,
        ping_seconds: float,
        send_timeout_seconds: float,
        origins: frozenset[str] | None = None,
    ) -> None:
        self.feed = feed
        self.origins = origins
        self.stale_after = stale_after
        self.max_connections = max_connections
        self.ping_seconds = ping_seconds
        self.send_timeout_seconds = send_timeout_seconds
        self.groups: dict[FilterKey, FilterGroup] = {}
        self.subscribers: dict[Subscriber, None] = {}
        # Changes since `horizon` are known hospital by hospital (a resume can be answered
        # with deltas); `removed` remembers the hospitals unlisted since then.
        self.horizon = 0
        self.removed: dict[str, int] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._jobs: deque[tuple[tuple[Subscriber, ...], str, Frame]] = deque()
        self._job_done = 0  # subscribers of the first job already handed its frame
        self._draining = False

    def start(self) -> None:
        self.horizon = self.feed.version
        self.feed.add_listener(self)
        self._ticker = asyncio.create_task(self._tick(), name="live-ticker")

    def stop(self) -> None:
        """Closes every subscriber at once; none is waited for."""
        self.feed.remove_listener(self)
        if self._ticker is not None:
            self._ticker.cancel()
        for subscriber in tuple(self.subscribers):
            subscriber.close(CLOSE_GOING_AWAY, "server shutting down")
        log.info("live subscribers closed")

    @property
    def full(self) -> bool:
        return len(self.subscribers) >= self.max_connections

    def group(self, flt: AvailabilityFilter) -> FilterGroup:
        """The group of this filter; join a subscriber of it right away (an empty group is
        dropped only when its last subscriber leaves)."""
        key = (flt.region, flt.bed_class)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = FilterGroup(self, flt)
            group.load(self.feed.hospitals.values(), datetime.now(UTC))
        return group

    def join(self, subscriber: Subscriber) -> None:
        subscriber.group.subscribers[subscriber] = None
        self.subscribers[subscriber] = None

    def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.pop(subscriber, None)
        group = subscriber.group
        group.subscribers.pop(subscriber, None)
        key = (group.flt.region, group.flt.bed_class)
        if not group.subscribers and self.groups.get(key) is group:
            del self.groups[key]

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        if state is None:
            self.removed[code] = version
        else:
            self.removed.pop(code, None)
        now = datetime.now(UTC)
        for group in tuple(self.groups.values()):
            frame = group.change(version, code, state, now)
            if frame is not None:
                self._jobs.append((tuple(group.subscribers), code, frame))
        if self._jobs and not self._draining:
            self._draining = True
            asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        """Hands frames to subscribers, FANOUT_SLICE at a time, then lets the loop run: the
        worker's requests (and the transactions they hold open) wait at most one slice, not a
        whole fan-out. Jobs run in order, so every subscriber still sees versions grow."""
        budget = FANOUT_SLICE
        jobs = self._jobs
        while jobs and budget > 0:
            subscribers, code, frame = jobs[0]
            start = self._job_done
            end = min(len(subscribers), start + budget)
            for index in range(start, end):
                subscribers[index].offer(code, frame)
            budget -= end - start
            if end == len(subscribers):
                jobs.popleft()
                self._job_done = 0
            else:
                self._job_done = end
        if jobs:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._draining = False

    def reloaded(self, version: int) -> None:
        # What changed during a reload is not known hospital by hospital: everyone starts over.
        self.horizon = version
        self.removed.clear()
        self._jobs.clear()  # the snapshots below cover them
        self._job_done = 0
        now = datetime.now(UTC)
        for group in self.groups.values():
            group.load(self.feed.hospitals.values(), now)
        for subscriber in tuple(self.subscribers):
            subscriber.resync()

    async def _tick(self) -> None:
        interval = min(1.0, self.ping_seconds / 2, self.send_timeout_seconds / 2)
        while True:
            await asyncio.sleep(interval)
            self.sweep(time.monotonic())

    def sweep(self, clock: float) -> None:
        """Closes subscribers stuck on one send for too long; pings the quiet ones."""
        for subscriber in tuple(self.subscribers):
            if subscriber.sending:
                # `busy_since`: when the send it waits on began.
                stuck = clock - subscriber.busy_since
                if stuck > self.send_timeout_seconds:
                    log.info("closing a subscriber too slow to receive", seconds=round(stuck, 1))
                    subscriber.close(CLOSE_TOO_SLOW, "too slow to receive")
            elif subscriber.sent_count != subscriber.swept_count:
                # Sent something since the last sweep (counted, not timed: the hot path is
                # cheaper without a clock read per message).
                subscriber.swept_count = subscriber.sent_count
                subscriber.busy_since = clock
            elif clock - subscriber.busy_since > self.ping_seconds:
                subscriber.ping()


def live_hub(feed: ChangeFeed, settings: Settings) -> LiveHub:
    return LiveHub(
        feed,
        timedelta(seconds=settings.stale_after_seconds),
        max_connections=settings.live_max_connections,
        ping_seconds=settings.live_ping_seconds,
        send_timeout_seconds=settings.live_send_timeout_seconds,
        origins=allowed_origins(settings),
    )
