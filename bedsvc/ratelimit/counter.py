"""Requests per bucket per minute, shared by every worker and instance through Redis.

A fixed window: one Redis key per bucket and minute, `INCR` then `EXPIRE`, sent as one
pipeline (one round trip per limited request, no script). A client can squeeze up to twice
the limit across a window edge; for limits meant to stop floods, not to meter, that is the
accepted price of one round trip and exact `Retry-After` values.

Redis is a cache here as everywhere: while it cannot be reached, each process counts on its
own (so the limit holds per worker, as before this was shared) and tries Redis again a few
seconds later, rather than paying a connection timeout on every request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import redis.asyncio as aioredis
import structlog
from cachetools import TTLCache
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0
_LOCAL_BUCKETS = 100_000  # bounds this process's memory while Redis is down


class RateCounter:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:ratelimit"
        self.window_seconds = window_seconds
        self.clock = clock
        self._redis_down_until = 0.0
        self._local: TTLCache[tuple[str, int], int] = TTLCache(
            _LOCAL_BUCKETS, ttl=2 * window_seconds
        )

    def retry_after(self) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        now = self.clock()
        return max(1, math.ceil(self.window_seconds - now % self.window_seconds))

    async def add(self, bucket: str, peek: str | None = None) -> tuple[int, int]:
        """Counts one request against `bucket` in this window; returns its count and the
        count of `peek` (read, not counted), or 0 without one."""
        window = int(self.clock() // self.window_seconds)
        if self.clock() >= self._redis_down_until:
            try:
                return await self._add_redis(window, bucket, peek)
            except (RedisError, OSError) as exc:
                self._redis_down_until = self.clock() + REDIS_RETRY_SECONDS
                log.warning("rate limits counted per process: Redis unreachable", error=str(exc))
        count = self._local.get((bucket, window), 0) + 1
        self._local[(bucket, window)] = count
        return count, 0 if peek is None else self._local.get((peek, window), 0)

    async def _add_redis(self, window: int, bucket: str, peek: str | None) -> tuple[int, int]:
        key = f"{self.prefix}:{bucket}:{window}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        # The key lives on for a window after its own: long enough, and gone by itself.
        pipe.expire(key, 2 * self.window_seconds)
        if peek is not None:
            pipe.get(f"{self.prefix}:{peek}:{window}")
        replies = await pipe.execute()
        peeked = int(replies[2] or 0) if peek is not None else 0
        return int(replies[0]), peeked
