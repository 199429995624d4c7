"""Keeps the Redis cache in step with PostgreSQL, and reads availability from either.

After each commit the changed hospital is written through to Redis. When Redis is down that
write is skipped and remembered; a reconciler in every worker compares the cache's version
with PostgreSQL's and rebuilds the cache once Redis is back or whenever it fell behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import msgspec
import structlog
from redis.exceptions import RedisError

from bedsvc.availability import HospitalState, WardState
from bedsvc.cache import AvailabilityCache
from bedsvc.store import Conn, Queries

log = structlog.get_logger(__name__)

_CACHE_ERRORS = (RedisError, OSError)


def state_from_row(row: asyncpg.Record, version: int) -> HospitalState:
    return HospitalState(
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        region_code=row["region_code"],
        address=row["address"],
        phone=row["phone"],
        lat=row["lat"],
        lon=row["lon"],
        version=version,
        wards=msgspec.convert(row["wards"], list[WardState]),
    )


async def load_state(conn: Conn, queries: Queries, code: str, version: int) -> HospitalState | None:
    row = await queries.hospital_state(conn, code=code)
    return None if row is None else state_from_row(row, version)


async def load_snapshot(pool: asyncpg.Pool, queries: Queries) -> tuple[int, list[HospitalState]]:
    """Every listed hospital and the version they are consistent with."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        version: int = await queries.current_version(conn)
        rows = [row async for row in queries.all_hospital_states(conn)]
    return version, [state_from_row(row, version) for row in rows]


class CacheSync:
    def __init__(self, pool: asyncpg.Pool, cache: AvailabilityCache, queries: Queries) -> None:
        self.pool = pool
        self.cache = cache
        self.queries = queries
        self._dirty = False
        self._last_db_version: int | None = None

    async def publish(self, code: str, version: int, state: HospitalState | None) -> None:
        """Write-through after a commit; a failure only delays the cache, never the caller."""
        try:
            if state is None:
                await self.cache.remove_hospital(code, version)
            else:
                await self.cache.write_hospital(state)
        except _CACHE_ERRORS as exc:
            self._dirty = True
            log.warning("cache write skipped", hospital=code, version=version, error=str(exc))

    async def rebuild(self) -> int:
        version, states = await load_snapshot(self.pool, self.queries)
        await self.cache.rebuild(version, states)
        log.info("cache rebuilt from database", version=version, hospitals=len(states))
        return version

    async def reconcile_once(self) -> bool:
        """Rebuilds the cache when it is missing or has stayed behind PostgreSQL; True if it did."""
        async with self.pool.acquire() as conn:
            db_version: int = await self.queries.current_version(conn)
        previous_db_version, self._last_db_version = self._last_db_version, db_version
        cached = await self.cache.version()
        # A cache one write behind may just be a commit whose write-through is under way;
        # behind what PostgreSQL had one round ago, it missed something.
        lagging = cached is not None and cached < (previous_db_version or 0)
        if not (self._dirty or cached is None or lagging):
            return False
        if not await self.cache.try_rebuild_lock():
            return False
        try:
            await self.rebuild()
            self._dirty = False
        finally:
            await self.cache.release_rebuild_lock()
        return True

    async def run_reconciler(self, interval: float) -> None:
        while True:
            try:
                await self.reconcile_once()
            except _CACHE_ERRORS as exc:
                log.debug("cache unreachable", error=str(exc))
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("database unreachable from reconciler", error=str(exc))
            await asyncio.sleep(interval)

    async def snapshot(self) -> tuple[int, list[HospitalState]]:
        """Current availability from Redis, or from PostgreSQL when Redis is unreachable."""
        try:
            version = await self.cache.version()
            if version is not None:
                return version, await self.cache.hospitals()
        except _CACHE_ERRORS as exc:
            log.warning("cache read failed, reading database", error=str(exc))
        return await load_snapshot(self.pool, self.queries)

    async def hospital(self, code: str) -> HospitalState | None:
        try:
            if await self.cache.version() is not None:
                return await self.cache.hospital(code)
        except _CACHE_ERRORS as exc:
            log.warning("cache read failed, reading database", error=str(exc))
        async with self.pool.acquire() as conn:
            version: int = await self.queries.current_version(conn)
            return await load_state(conn, self.queries, code, version)


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancels a task and waits for it to end.

    Cancels again while it runs: redis-py can turn a cancellation that lands while it
    connects into a connection error, which a loop that outlives Redis outages then survives.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    with contextlib.suppress(asyncio.CancelledError):
        await task
