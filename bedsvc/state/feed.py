"""Each worker's view of current availability, kept fresh by reading the Redis change stream.

The feed loads every hospital once (from Redis, or PostgreSQL when the cache is unreachable or
empty), then applies the stream's entries in order from the position it loaded at. Each entry
carries the global version after it, so the feed checks every step: the global version must
grow by exactly what the hospital's version grew by. A step that does not add up means the
feed missed entries (the stream was trimmed past it, or Redis lost data): it reloads. While
Redis is unreachable the feed polls PostgreSQL's versions and reloads just the hospitals whose
version moved, so the worker stays correct, only slower to see changes.

Listeners (the public read cache, the live fan-out) hear of each applied change and of every
reload; they must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Mapping
from typing import Protocol

import redis.asyncio as aioredis
import structlog

from bedsvc.ops.metrics import record_database_error, record_redis_error
from bedsvc.runtime.tasks import cancel, raise_if_cancelled
from bedsvc.state.cache import STREAM_START, Change, Rebuilt, decode_entry
from bedsvc.state.sync import CACHE_ERRORS, DATABASE_ERRORS, CacheSync
from bedsvc.store.states import HospitalState, load_snapshot, load_states, load_versions

log = structlog.get_logger(__name__)

# Entries read from the stream at once: a worker that fell behind catches up in few reads.
_READ_COUNT = 1000


class FeedListener(Protocol):
    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        """`version` is the feed's global version after the change; `state` is None when the
        hospital is no longer listed."""

    def reloaded(self, version: int) -> None:
        """Everything may have changed: rebuild from `feed.hospitals`."""


def _mark(code: str, version: int) -> int:
    """A hospital at a version as 64 bits, the same in every process (0 for version 0: a
    hospital that never changed counts as absent)."""
    if version == 0:
        return 0
    digest = hashlib.blake2b(b"%s:%d" % (code.encode(), version), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class ChangeFeed:
    def __init__(
        self,
        sync: CacheSync,
        connect: Callable[[], aioredis.Redis],
        stream_key: str,
        *,
        block_seconds: float = 1.0,
        poll_interval: float = 2.0,
        read_gap: float = 0.0,
    ) -> None:
        self.sync = sync
        self.connect = connect
        self.stream_key = stream_key
        self.block_seconds = block_seconds
        self.poll_interval = poll_interval
        self.read_gap = read_gap
        # The global version: the sum of every hospital's version, listed or not.
        self.version = 0
        # Which hospital versions make up `version`: equal in every process holding the same
        # state, and different (but for a 2^-64 chance) for different states of equal sum.
        self.fingerprint = 0
        self._hospitals: dict[str, HospitalState] = {}
        self._versions: dict[str, int] = {}
        self._stream_id = STREAM_START
        # Loaded from PostgreSQL rather than the cache: the stream's entries need not add up.
        self._from_database = False
        self._listeners: list[FeedListener] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def hospitals(self) -> Mapping[str, HospitalState]:
        return self._hospitals

    def add_listener(self, listener: FeedListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: FeedListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def start(self) -> None:
        """Loads the current state, then follows the stream in the background."""
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel(self._task)

    # Loading

    async def reload(self) -> None:
        """From the cache, or from PostgreSQL when the cache is unreachable, empty or behind
        what this worker has."""
        try:
            snapshot = await self.sync.cache.snapshot()
        except CACHE_ERRORS as exc:
            record_redis_error("feed_reload")
            log.warning("cache read failed, reading database", error=str(exc))
        else:
            if snapshot.position is not None and self._covers(snapshot.versions):
                self._stream_id = snapshot.stream_id
                self._load(snapshot.states, snapshot.versions, from_database=False)
                return
            # An empty cache, or one behind this worker (a failover lost writes): follow the
            # stream from here; PostgreSQL says what the cache lacks.
            self._stream_id = snapshot.stream_id
        await self.reload_from_database()

    async def reload_from_database(self) -> None:
        snapshot = await load_snapshot(self.sync.pool, self.sync.queries)
        self._load(snapshot.states, snapshot.versions, from_database=True)

    def _load(
        self, states: list[HospitalState], versions: dict[str, int], *, from_database: bool
    ) -> None:
        self._hospitals = {state.code: state for state in states}
        self._versions = dict(versions)
        self.version = sum(versions.values())
        fingerprint = 0
        for code, version in versions.items():
            fingerprint ^= _mark(code, version)
        self.fingerprint = fingerprint
        self._from_database = from_database
        log.debug("feed reloaded", version=self.version, hospitals=len(states))
        for listener in list(self._listeners):
            listener.reloaded(self.version)

    # Following

    async def _run(self) -> None:
        reload_first = False
        while True:
            try:
                if reload_first:
                    await self.reload()
                    reload_first = False
                await self._follow_stream()
            except CACHE_ERRORS as exc:
                raise_if_cancelled()
                record_redis_error("feed_stream")
                log.warning("change stream lost, polling the database", error=str(exc))
                await self._poll_database_until_cache_returns()
            except DATABASE_ERRORS as exc:
                # A reload that had to read PostgreSQL while it refused (shutting down, a pool
                # closing): the feed must outlive it, and what it holds may be behind.
                raise_if_cancelled()
                record_database_error("feed_reload")
                log.warning("feed reload failed, trying again", error=str(exc))
                await asyncio.sleep(self.poll_interval)
                reload_first = True

    async def _follow_stream(self) -> None:
        client = self.connect()
        try:
            idle = 0.0
            suspect = False
            while True:
                read: list[
                    tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]
                ] = await client.xread(  # type: ignore[assignment]  # typed for any reply shape
                    {self.stream_key: self._stream_id},
                    count=_READ_COUNT,
                    block=int(self.block_seconds * 1000),
                )
                entries = read[0][1] if read else []
                for stream_id, fields in entries:
                    self._stream_id = stream_id
                    if not await self.handle(decode_entry(fields)):
                        break  # reloaded: the rest is read again from the new position
                if entries:
                    idle, suspect = 0.0, False
                    if self.read_gap:
                        # Under a stream of changes, one read takes what came during the gap
                        # rather than one read per write-through: every read costs the
                        # process a round trip, every process pays it, and what it reads
                        # waits at most the gap.
                        await asyncio.sleep(self.read_gap)
                    continue
                idle += self.block_seconds
                if idle >= self.poll_interval:
                    # A quiet stream while the cache moved on (e.g. it was filled again): a
                    # write may also have landed just after the read timed out, so only a
                    # difference that outlasts another quiet read makes the feed reload.
                    idle = 0.0
                    if not await self._cache_moved_on():
                        suspect = False
                    elif suspect:
                        await self.reload()
                        suspect = False
                    else:
                        suspect = True
        finally:
            # Shielded: `cancel` repeats its cancellation while the loop ends, and a close cut
            # short would leave the connection's socket open.
            await asyncio.shield(client.aclose())

    async def handle(self, entry: Change | Rebuilt) -> bool:
        """Applies one stream entry; False when it made the feed reload instead."""
        if isinstance(entry, Rebuilt):
            if self._from_database or entry.position != self.version:
                await self.reload()
                return False
            return True
        held = self._versions.get(entry.code, 0)
        if self._from_database and entry.version <= held:
            return True  # PostgreSQL had given this one already
        if entry.position != self.version + entry.version - held:
            log.info(
                "change stream does not add up, reloading",
                have=self.version,
                entry=entry.position,
                hospital=entry.code,
            )
            await self.reload()
            return False
        self._apply(entry.code, entry.version, entry.state)
        return True

    async def _cache_moved_on(self) -> bool:
        position = await self.sync.cache.version()
        return position is not None and (self._from_database or position != self.version)

    async def _poll_database_until_cache_returns(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                await self.catch_up_from_database()
            except DATABASE_ERRORS as exc:
                raise_if_cancelled()
                record_database_error("feed_poll")
                log.warning("database unreachable from change feed", error=str(exc))
            try:
                snapshot = await self.sync.cache.snapshot()
            except CACHE_ERRORS:
                continue
            # Back to the stream once the cache holds every hospital at least at the version
            # this worker has: after a failover the new primary may lack some writes while
            # others already took it past this worker's global version.
            if snapshot.position is not None and self._covers(snapshot.versions):
                self._stream_id = snapshot.stream_id
                self._load(snapshot.states, snapshot.versions, from_database=False)
                return

    def _covers(self, versions: Mapping[str, int]) -> bool:
        return all(versions.get(code, 0) >= held for code, held in self._versions.items())

    async def catch_up_from_database(self) -> None:
        """Reloads just the hospitals whose version moved in PostgreSQL."""
        async with self.sync.pool.acquire() as conn:
            versions = await load_versions(conn, self.sync.queries)
            moved = [c for c, v in versions.items() if v > self._versions.get(c, 0)]
            if not moved:
                return
            states = {s.code: s for s in await load_states(conn, self.sync.queries, moved)}
        self._from_database = True
        for code in moved:
            state = states.get(code)
            # The state was read after the versions: it may be newer still.
            version = versions[code] if state is None else max(versions[code], state.version)
            self._apply(code, version, state)

    def _apply(self, code: str, version: int, state: HospitalState | None) -> None:
        held = self._versions.get(code, 0)
        if version <= held:
            return
        self._versions[code] = version
        self.version += version - held
        self.fingerprint ^= _mark(code, held) ^ _mark(code, version)
        if state is None:
            self._hospitals.pop(code, None)
        else:
            self._hospitals[code] = state
        for listener in list(self._listeners):
            listener.hospital_changed(self.version, code, state)
