"""Each worker's view of current availability, kept fresh by one Redis subscription.

The feed loads every listed hospital once (from Redis, or PostgreSQL when Redis is down), then
applies the change messages of the Redis channel in version order. Versions are gapless, so a
missing one is noticed: the feed waits briefly for it (two commits may announce themselves out
of order), then reloads. While Redis is unreachable it polls PostgreSQL's version instead, so
the worker stays correct, only slower to see changes.

Listeners (the public read cache, the live fan-out) hear of each applied change and of every
reload; they must not block.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Protocol

import asyncpg
import msgspec
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from bedsvc.availability import HospitalState
from bedsvc.cache import (
    CacheRebuilt,
    ChangeMessage,
    HospitalChanged,
    HospitalRemoved,
    change_decoder,
)
from bedsvc.sync import CacheSync, cancel, load_snapshot, raise_if_cancelled

log = structlog.get_logger(__name__)


class FeedListener(Protocol):
    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        """`state` is None when the hospital is no longer listed."""

    def reloaded(self, version: int) -> None:
        """Everything may have changed: rebuild from `feed.hospitals`."""


class ChangeFeed:
    def __init__(
        self,
        sync: CacheSync,
        connect: Callable[[], aioredis.Redis],
        channel: str,
        *,
        gap_wait: float = 0.25,
        poll_interval: float = 2.0,
    ) -> None:
        self.sync = sync
        self.connect = connect
        self.channel = channel
        self.gap_wait = gap_wait
        self.poll_interval = poll_interval
        self.version = 0
        self._hospitals: dict[str, HospitalState] = {}
        self._pending: dict[int, HospitalChanged | HospitalRemoved] = {}
        self._gap_since: float | None = None
        self._listeners: list[FeedListener] = []
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    @property
    def hospitals(self) -> Mapping[str, HospitalState]:
        return self._hospitals

    def add_listener(self, listener: FeedListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: FeedListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    async def start(self) -> None:
        """Loads the current state, then follows the channel in the background."""
        await self.reload()
        self._task = asyncio.create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel(self._task)

    async def reload(self, *, from_database: bool = False) -> None:
        if from_database:
            version, states = await load_snapshot(self.sync.pool, self.sync.queries)
        else:
            version, states = await self.sync.snapshot()
        self._hospitals = {state.code: state for state in states}
        self.version = version
        # A message is published only after its commit, so PostgreSQL's snapshot already
        # holds everything announced so far; Redis's may lag behind what is pending.
        self._pending = (
            {} if from_database else {v: m for v, m in self._pending.items() if v > version}
        )
        self._gap_since = None
        log.debug("feed reloaded", version=version, hospitals=len(states))
        for listener in list(self._listeners):
            listener.reloaded(version)

    async def _run(self) -> None:
        while True:
            try:
                await self._follow_channel()
            except (RedisError, OSError) as exc:
                raise_if_cancelled()
                self.connected.clear()
                log.warning("change channel lost, polling the database", error=str(exc))
                await self._poll_database_until_redis_returns()

    async def _follow_channel(self) -> None:
        # A connection of its own without a read timeout: a quiet channel is not an error.
        client = self.connect()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            # Subscribed first, then reloaded: nothing published in between is missed.
            await self.reload()
            self.connected.set()
            while True:
                message = await pubsub.get_message(timeout=self.gap_wait)
                if message is not None:
                    await self._receive(message["data"])
                await self._resolve_gap()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            await client.aclose()

    async def _receive(self, raw: bytes) -> None:
        try:
            change = change_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            log.error("malformed change message ignored", error=str(exc))
            return
        await self.handle(change)

    async def _poll_database_until_redis_returns(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                async with self.sync.pool.acquire() as conn:
                    db_version: int = await self.sync.queries.current_version(conn)
                if db_version != self.version:
                    await self.reload(from_database=True)
            except (asyncpg.PostgresError, OSError) as exc:
                raise_if_cancelled()
                log.warning("database unreachable from change feed", error=str(exc))
            try:
                await self.sync.cache.client.ping()
            except (RedisError, OSError):
                continue
            return

    async def handle(self, message: ChangeMessage) -> None:
        if isinstance(message, CacheRebuilt):
            # A rebuild at a version this worker already holds adds nothing: reloading would
            # only resend every live subscriber a snapshot, just when the system is busiest.
            if message.version > self.version:
                await self.reload()
            return
        if message.version <= self.version:
            # Already part of what was loaded; apply only if newer for that hospital.
            self._apply(message, advance=False)
            return
        self._pending[message.version] = message
        self._drain()

    def _drain(self) -> None:
        while (message := self._pending.pop(self.version + 1, None)) is not None:
            self._apply(message, advance=True)
        if self._pending:
            loop = asyncio.get_running_loop()
            self._gap_since = self._gap_since or loop.time()
        else:
            self._gap_since = None

    async def _resolve_gap(self) -> None:
        if self._gap_since is None:
            return
        if asyncio.get_running_loop().time() - self._gap_since < self.gap_wait:
            return
        log.info("version gap, reloading", have=self.version, waiting=sorted(self._pending))
        newest = max(self._pending)
        await self.reload()
        if self.version < newest:
            # Redis itself missed a change: PostgreSQL has everything.
            await self.reload(from_database=True)

    def _apply(self, message: HospitalChanged | HospitalRemoved, *, advance: bool) -> None:
        if isinstance(message, HospitalChanged):
            code, state = message.hospital.code, message.hospital
        else:
            code, state = message.code, None
        current = self._hospitals.get(code)
        if advance:
            self.version = message.version
        if current is not None and current.version >= message.version:
            return
        if state is None:
            self._hospitals.pop(code, None)
        else:
            self._hospitals[code] = state
        for listener in list(self._listeners):
            listener.hospital_changed(message.version, code, state)
