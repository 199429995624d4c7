"""Failed sign-ins counted per login and per client address, so that guessing is refused early.

Counts live in Redis, shared by every worker and instance, each in a fixed window that starts
with its first failure. With Redis down each worker counts on its own (a looser limit, but
still one): a throttle must never be the reason a hospital cannot sign in, nor a reason to
stop refusing a flood.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from cachetools import TTLCache
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

# Subjects counted in one worker while Redis is down; the oldest are forgotten first.
_LOCAL_SUBJECTS = 100_000


@dataclass(frozen=True, slots=True)
class Subject:
    """What failures are counted against, e.g. ("login", "sirs:3274011"), and its limit."""

    kind: str
    name: str
    limit: int


class FailureThrottle:
    def __init__(self, client: aioredis.Redis, prefix: str, window_seconds: int) -> None:
        self._redis = client
        self._prefix = prefix
        self.window = window_seconds
        # subject key -> (failures, window start on the monotonic clock)
        self._local: TTLCache[str, tuple[int, float]] = TTLCache(
            maxsize=_LOCAL_SUBJECTS, ttl=window_seconds
        )

    def _key(self, subject: Subject) -> str:
        return f"{self._prefix}:signin-failures:{subject.kind}:{subject.name}"

    async def retry_after(self, subjects: list[Subject]) -> int | None:
        """Seconds until the first subject over its limit may try again; None if none is."""
        keys = [self._key(s) for s in subjects]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                    pipe.ttl(key)
                replies = await pipe.execute()
        except (RedisError, OSError):
            return self._local_retry_after(keys, subjects)
        waits = [
            max(int(ttl), 1)
            for subject, count, ttl in zip(subjects, replies[::2], replies[1::2], strict=True)
            if count is not None and int(count) >= subject.limit
        ]
        return max(waits, default=None)

    async def failed(self, subjects: list[Subject]) -> None:
        keys = [self._key(s) for s in subjects]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    # SET NX EX starts the window with the first failure; INCR counts in it.
                    pipe.set(key, 0, ex=self.window, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("sign-in failures counted in this worker only", error=type(exc).__name__)
            self._local_failed(keys)

    def _local_retry_after(self, keys: list[str], subjects: list[Subject]) -> int | None:
        now = time.monotonic()
        waits = []
        for key, subject in zip(keys, subjects, strict=True):
            count, started = self._local.get(key, (0, now))
            left = started + self.window - now
            if count >= subject.limit and left > 0:
                waits.append(max(int(left), 1))
        return max(waits, default=None)

    def _local_failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            count, started = self._local.get(key, (0, now))
            if started + self.window <= now:
                count, started = 0, now
            self._local[key] = (count + 1, started)
