"""A worker's sampler: the metrics that are states rather than events (feed lag, live
connections), and the fast path's counts moved into the shared registry."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

import asyncpg

from bedsvc.ops.metrics import (
    FAST_RESPONSE_COUNTS,
    FAST_RESPONSES,
    FEED_LAG_SECONDS,
    FEED_VERSIONS_BEHIND,
    LIVE_CONNECTIONS,
    LIVE_MAX_CONNECTIONS,
    multiprocess_mode,
    record_database_error,
)
from bedsvc.store import Queries


class FeedLag:
    """How far a worker's change feed is behind PostgreSQL, from samples of PostgreSQL's
    version: in versions, and in seconds since PostgreSQL first held one the feed lacks."""

    def __init__(self) -> None:
        self._seen: deque[tuple[float, int]] = deque()

    def sample(self, database_version: int, feed_version: int, now: float) -> tuple[int, float]:
        if not self._seen or database_version > self._seen[-1][1]:
            self._seen.append((now, database_version))
        while self._seen and self._seen[0][1] <= feed_version:
            self._seen.popleft()
        behind = max(0, database_version - feed_version)
        return behind, (now - self._seen[0][0]) if self._seen else 0.0


class FastResponsesMover:
    """Adds what the fast path counted since the last call to the shared counter."""

    def __init__(self) -> None:
        self._moved: dict[tuple[str, int], int] = {}

    def __call__(self) -> None:
        for key, count in list(FAST_RESPONSE_COUNTS.items()):
            moved = self._moved.get(key, 0)
            if count > moved:
                path, status = key
                FAST_RESPONSES.labels(path=path, status_code=str(status)).inc(count - moved)
                self._moved[key] = count


async def sample_worker(
    feed_version: Callable[[], int],
    pool: asyncpg.Pool,
    queries: Queries,
    live_connections: Callable[[], int],
    live_max_connections: int,
    interval: float,
) -> None:
    """A worker's background task: the gauges that are states rather than events."""
    LIVE_MAX_CONNECTIONS.set(live_max_connections)
    lag = FeedLag()
    move_fast_responses = FastResponsesMover() if multiprocess_mode() else None
    while True:
        LIVE_CONNECTIONS.set(live_connections())
        if move_fast_responses is not None:
            move_fast_responses()
        try:
            async with pool.acquire(timeout=interval) as conn:
                database_version: int = await queries.global_version(conn)
        except (asyncpg.PostgresError, OSError, TimeoutError):
            record_database_error("metrics")
        else:
            behind, seconds = lag.sample(database_version, feed_version(), time.monotonic())
            FEED_VERSIONS_BEHIND.set(behind)
            FEED_LAG_SECONDS.set(seconds)
        await asyncio.sleep(interval)
