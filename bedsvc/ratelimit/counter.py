"""Requests per bucket per minute, counted in each worker and reconciled with Redis in batches.

A fixed window: one Redis key per bucket and minute, raised with `INCRBY` and given an
`EXPIRE`. A client can squeeze up to twice the limit across a window edge; for limits meant
to stop floods, not to meter, that is the accepted price of exact `Retry-After` values.

Measured (docs/performance.md): a Redis round trip per request was a large part of a push's
cost. So a worker counts in memory and tells Redis what it counted in batches:

- A bucket's count here is `known` (Redis's total at the last reply, this worker's share
  included) plus what this worker counted since (`sending`, `pending`).
- A request is decided in memory while that count stays a batch (`batch`) below the limit and
  this worker has counted fewer than `batch` requests of the bucket since Redis last answered.
  Otherwise it is counted in Redis at once (with the worker's pending counts), and decided on
  Redis's total: near a limit, every worker decides on the shared count.
- `flush()` (every `FLUSH_SECONDS`, from `run()`) sends what every bucket counted, in one
  pipeline, so that the shared count stays current.

The bound: a worker decides at most `batch` requests of a bucket on a total Redis has not
confirmed, so a limit can be exceeded by at most one batch per worker (and instance),
`workers * (batch - 1)` in all, before every worker sees the shared total over it. With one
worker the limit is exact; `batch=1` sends every request to Redis. docs/security.md states it
for operators.

Redis is a cache here as everywhere: while it cannot be reached, each process counts on its
own (so the limit holds per worker) and tries Redis again a few seconds later, rather than
paying a connection timeout on every request.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

log = structlog.get_logger(__name__)

WINDOW_SECONDS = 60
REDIS_RETRY_SECONDS = 5.0
# Requests of one bucket a worker may decide before Redis confirms their total
# (BEDSVC_RATE_LIMIT_BATCH).
BATCH = 32
FLUSH_SECONDS = 0.5
# Buckets per window: bounds this process's memory (a flood of invented credentials makes a
# bucket each). A bucket forgotten early loses at most the counts it had not sent.
_BUCKETS = 100_000


class _Count:
    __slots__ = ("known", "pending", "sending", "sent")

    def __init__(self) -> None:
        self.known = 0  # Redis's total at its last answer (or this worker's, Redis down)
        self.sending = 0  # sent, not yet answered
        self.pending = 0  # counted here, not yet sent
        # Set while a send is in flight. One at a time per bucket: Redis's answer to one then
        # holds exactly what `known` and `sending` held, and nothing is counted twice.
        self.sent: asyncio.Event | None = None

    @property
    def total(self) -> int:
        return self.known + self.sending + self.pending


class RateCounter:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        window_seconds: int = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        batch: int = BATCH,
    ) -> None:
        self.redis = redis
        self.prefix = f"{prefix}:ratelimit"
        self.window_seconds = window_seconds
        self.clock = clock
        self.batch = batch
        self._redis_down_until = 0.0
        # By window, then bucket: this window's counts and the last one's (whose last counts
        # may still be on their way to Redis); older windows are dropped as a new one starts.
        # Plain dicts, on every request's path: measured, a push's `peek` and `add` took
        # 7.0 us of CPU over a TTLCache and take 1.5 us over these (docs/performance.md).
        self._windows: dict[int, dict[str, _Count]] = {}

    def retry_after(self) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        now = self.clock()
        return max(1, math.ceil(self.window_seconds - now % self.window_seconds))

    def _count(self, bucket: str, window: int) -> _Count:
        counts = self._windows.get(window)
        if counts is None:
            counts = self._windows[window] = {}
            for old in [w for w in self._windows if w < window - 1]:
                del self._windows[old]
        count = counts.get(bucket)
        if count is None:
            if len(counts) >= _BUCKETS:
                del counts[next(iter(counts))]  # the window's first bucket goes first
            count = counts[bucket] = _Count()
        return count

    def _redis_up(self) -> bool:
        return self.clock() >= self._redis_down_until

    async def add(self, bucket: str, limit: int) -> int:
        """Counts one request against `bucket` in this window; returns the bucket's count,
        exact where it matters (within a batch of `limit`)."""
        window = int(self.clock() // self.window_seconds)
        count = self._count(bucket, window)
        if not self._redis_up() or (
            count.pending + count.sending < self.batch - 1 and count.total + 1 <= limit - self.batch
        ):
            count.pending += 1
            return count.total
        count.pending += 1
        await self._exchange(bucket, window, count)
        return count.total

    async def peek(self, bucket: str, limit: int) -> int:
        """The bucket's count in this window, not counting a request: read from Redis when it
        is within a batch of `limit`."""
        window = int(self.clock() // self.window_seconds)
        count = self._windows.get(window, {}).get(bucket)
        if (count is not None and count.total < limit - self.batch) or not self._redis_up():
            return 0 if count is None else count.total
        count = self._count(bucket, window)
        await self._exchange(bucket, window, count)
        return count.total

    async def _exchange(self, bucket: str, window: int, count: _Count) -> None:
        """Sends the bucket's count once its send in flight (if any) is answered."""
        while count.sent is not None:
            await count.sent.wait()
        if not self._redis_up():  # found down by the send it waited for
            count.known, count.pending = count.known + count.pending, 0
            return
        await self._send([(bucket, window, count)])

    async def flush(self) -> None:
        """Sends what every bucket counted since it last did."""
        if not self._redis_up():
            return
        waiting = [
            (bucket, window, count)
            for window, counts in list(self._windows.items())
            for bucket, count in list(counts.items())
            if count.pending and count.sent is None
        ]
        if waiting:
            await self._send(waiting)

    async def run(self, interval: float = FLUSH_SECONDS) -> None:
        """The worker's flush loop; sends what is left when cancelled."""
        try:
            while True:
                await asyncio.sleep(interval)
                await self.flush()
        finally:
            await self.flush()

    async def _send(self, counts: list[tuple[str, int, _Count]]) -> None:
        """Adds each count's pending requests in Redis (`INCRBY 0` reads one with none) and
        takes Redis's totals as known."""
        amounts = []
        pipe = self.redis.pipeline(transaction=False)
        for bucket, window, count in counts:
            key = f"{self.prefix}:{bucket}:{window}"
            amount, count.pending = count.pending, 0
            count.sending, count.sent = amount, asyncio.Event()
            amounts.append(amount)
            pipe.incrby(key, amount)
            # The key lives on for a window after its own: long enough, and gone by itself.
            pipe.expire(key, 2 * self.window_seconds)
        replies: list[int | bool] = []
        try:
            replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._redis_down_until = self.clock() + REDIS_RETRY_SECONDS
            log.warning("rate limits counted per process: Redis unreachable", error=str(exc))
        finally:
            totals: list[int | bool | None] = list(replies[::2]) or [None] * len(counts)
            for (_, _, count), amount, total in zip(counts, amounts, totals, strict=True):
                count.sending = 0
                # Unanswered (Redis down, or the send cancelled), the worker's own count goes
                # on from what it knew; totals in Redis only grow.
                if total is None:
                    count.known += amount
                else:
                    count.known = max(count.known, int(total))
                if count.sent is not None:
                    count.sent.set()
                count.sent = None
