"""Keeps the Redis cache in step with PostgreSQL.

After each commit the changed hospital is written through to Redis, which appends it to the
change stream. A write-through can be lost (Redis down, a worker stopped between commit and
write); a reconciler in every worker compares each hospital's version in Redis with
PostgreSQL's and writes through again the hospitals Redis lags on, or fills an empty cache.

A failover loses what the old primary acknowledged but had not yet passed to its replica, and
no write-through of this worker failed to tell it so. The reconciler notices that another
server answers (its run id changed) and repairs whatever lags at once, on its first round
there.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence

import asyncpg
import structlog
from redis.exceptions import RedisError

from bedsvc.ops.metrics import record_database_error, record_failover_repair, record_redis_error
from bedsvc.runtime.tasks import raise_if_cancelled
from bedsvc.state.cache import AvailabilityCache, HospitalAt
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
        # The Redis server of the last round that completed, and when that round ended.
        self._server: str | None = None
        self._reached_at = 0.0
        # A lock orphaned by a failover (taken on the old primary, replicated, its release
        # lost) or by a failed release must not hold off a rebuild for long.
        self.lock_seconds = 5

    async def publish(self, code: str, version: int, state: HospitalState | None) -> None:
        """Write-through after a commit; a failure only delays the cache, never the caller."""
        await self.publish_all([HospitalAt(code, version, state)])

    async def publish_all(self, hospitals: Sequence[HospitalAt]) -> None:
        """`publish` for several hospitals' commits, in one round trip."""
        if not hospitals:
            return
        try:
            if min(await self.cache.write_hospitals(hospitals)) < 0:
                self._dirty = True  # an empty cache: the reconciler fills it
        except CACHE_ERRORS as exc:
            self._dirty = True
            record_redis_error("write_through")
            log.warning(
                "cache write skipped",
                hospitals={h.code: h.version for h in hospitals},
                error=str(exc),
            )

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
        dirty, self._dirty = self._dirty, False
        try:
            server = await self.cache.server_id()
            failover = self._server is not None and server != self._server
            repaired = await self._reconcile(versions, previous, dirty or failover)
        except BaseException:
            self._dirty = self._dirty or dirty  # still owed to the next round
            raise
        if repaired is None:
            return []  # another worker is filling the empty cache
        if failover:
            self._log_failover_repair(versions, repaired)
        self._server, self._reached_at = server, time.monotonic()
        return sorted(repaired)

    async def _reconcile(
        self, versions: dict[str, int], previous: dict[str, int], dirty: bool
    ) -> dict[str, int] | None:
        """The hospitals written again, each with the version the cache held before; None when
        the cache is empty and another worker rebuilds it."""
        if await self.cache.version() is None:
            # An empty cache (a new or restarted Redis): one worker fills it for everyone.
            if not await self.cache.try_rebuild_lock(self.lock_seconds):
                return None
            try:
                await self.rebuild()
            finally:
                await self.cache.release_rebuild_lock()
            return dict.fromkeys(versions, 0)
        cached = await self.cache.versions()
        # A hospital one round behind may be a commit whose write-through is under way; behind
        # what PostgreSQL had one round ago, its write-through was lost. After a write-through
        # of this worker failed, or on a server that was not the one of the last round,
        # whatever lags now is repaired at once.
        lagging = {
            code: cached.get(code, 0)
            for code, version in versions.items()
            if cached.get(code, 0) < (version if dirty else min(version, previous.get(code, 0)))
        }
        if lagging:
            await self.repair(sorted(lagging))
        return lagging

    def _log_failover_repair(self, versions: dict[str, int], repaired: dict[str, int]) -> None:
        behind = sum(versions[code] - held for code, held in repaired.items())
        seconds = time.monotonic() - self._reached_at
        record_failover_repair(behind, seconds)
        log.warning(
            "cache repaired after failover",
            hospitals=len(repaired),
            versions_behind=behind,
            seconds_since_previous_server=round(seconds, 3),
        )

    async def repair(self, codes: list[str]) -> None:
        async with self.pool.acquire() as conn:
            states = [
                HospitalAt(code, *await load_state(conn, self.queries, code)) for code in codes
            ]
        await self.cache.write_hospitals(states)
        log.warning("cache repaired from database", hospitals=codes)

    async def run_reconciler(self, interval: float) -> None:
        self.lock_seconds = max(1, math.ceil(2 * interval))
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
