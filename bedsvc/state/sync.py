"""Keeps the Redis cache in step with PostgreSQL.

After each commit the changed hospital is written through to Redis, which appends it to the
change stream. A write-through can be lost (Redis down, a worker stopped between commit and
write); a reconciler in every worker compares each hospital's version in Redis with
PostgreSQL's and writes through again the hospitals Redis lags on, or fills an empty cache.
"""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from redis.exceptions import RedisError

from bedsvc.ops.metrics import record_database_error, record_redis_error
from bedsvc.runtime.tasks import raise_if_cancelled
from bedsvc.state.cache import AvailabilityCache
from bedsvc.store import Queries
from bedsvc.store.states import HospitalState, load_snapshot, load_state, load_versions

log = structlog.get_logger(__name__)

CACHE_ERRORS = (RedisError, OSError)
DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class CacheSync:
    def __init__(self, pool: asyncpg.Pool, cache: AvailabilityCache, queries: Queries) -> None:
        self.pool = pool
        self.cache = cache
        self.queries = queries
        self._dirty = False
        self._last_versions: dict[str, int] = {}

    async def publish(self, code: str, version: int, state: HospitalState | None) -> None:
        """Write-through after a commit; a failure only delays the cache, never the caller."""
        try:
            if await self.cache.write_hospital(code, version, state) < 0:
                self._dirty = True  # an empty cache: the reconciler fills it
        except CACHE_ERRORS as exc:
            self._dirty = True
            record_redis_error("write_through")
            log.warning("cache write skipped", hospital=code, version=version, error=str(exc))

    async def rebuild(self) -> int:
        snapshot = await load_snapshot(self.pool, self.queries)
        position = await self.cache.rebuild(snapshot.versions, snapshot.states)
        log.info("cache rebuilt from database", version=position, hospitals=len(snapshot.states))
        return position

    async def reconcile_once(self) -> list[str]:
        """Repairs what the cache lacks; returns the codes of the hospitals written again
        (every code after a rebuild)."""
        async with self.pool.acquire() as conn:
            versions = await load_versions(conn, self.queries)
        previous, self._last_versions = self._last_versions, versions
        if await self.cache.version() is None:
            # An empty cache (a new or restarted Redis): one worker fills it for everyone.
            if not await self.cache.try_rebuild_lock():
                return []
            try:
                await self.rebuild()
                self._dirty = False
            finally:
                await self.cache.release_rebuild_lock()
            return sorted(versions)
        cached = await self.cache.versions()
        dirty, self._dirty = self._dirty, False
        # A hospital one round behind may be a commit whose write-through is under way; behind
        # what PostgreSQL had one round ago, its write-through was lost. After a write-through
        # of this worker failed, whatever lags now is repaired at once.
        lagging = [
            code
            for code, version in versions.items()
            if cached.get(code, 0) < (version if dirty else min(version, previous.get(code, 0)))
        ]
        if lagging:
            await self.repair(lagging)
        return lagging

    async def repair(self, codes: list[str]) -> None:
        async with self.pool.acquire() as conn:
            for code in codes:
                version, state = await load_state(conn, self.queries, code)
                await self.cache.write_hospital(code, version, state)
        log.warning("cache repaired from database", hospitals=codes)

    async def run_reconciler(self, interval: float) -> None:
        while True:
            try:
                await self.reconcile_once()
            except CACHE_ERRORS as exc:
                raise_if_cancelled()
                record_redis_error("reconcile")
                log.debug("cache unreachable", error=str(exc))
            except DATABASE_ERRORS as exc:
                raise_if_cancelled()
                record_database_error("reconcile")
                log.warning("database unreachable from reconciler", error=str(exc))
            await asyncio.sleep(interval)
