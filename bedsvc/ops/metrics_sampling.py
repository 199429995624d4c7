"""A worker's sampler: the metrics that are states rather than events (feed lag, live
connections); and under several workers, the counts kept without locks (the public fast
path's answers, the pushes) moved into the shared registry."""

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
    PUSH_COUNTS,
    PUSH_DURATIONS,
    PUSH_SECONDS,
    PUSHES,
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


class CountsMover:
    """Adds what was counted without locks since the last call to the shared metrics."""

    def __init__(self) -> None:
        self._fast: dict[tuple[str, int], int] = {}
        self._pushes: dict[tuple[str, str, str], int] = {}
        self._durations: dict[str, tuple[list[int], list[float]]] = {}

    def __call__(self) -> None:
        for key, count in list(FAST_RESPONSE_COUNTS.items()):
            moved = self._fast.get(key, 0)
            if count > moved:
                path, status = key
                FAST_RESPONSES.labels(path=path, status_code=str(status)).inc(count - moved)
                self._fast[key] = count
        for push, count in list(PUSH_COUNTS.items()):
            moved = self._pushes.get(push, 0)
            if count > moved:
                route, outcome, bridge = push
                PUSHES.labels(route=route, outcome=outcome, bridge=bridge).inc(count - moved)
                self._pushes[push] = count
        for bridge, durations in list(PUSH_DURATIONS.items()):
            counts, sums = list(durations.counts), list(durations.sums)
            moved_counts, moved_sums = self._durations.get(
                bridge, ([0] * len(counts), [0.0] * len(sums))
            )
            histogram = PUSH_SECONDS.labels(bridge=bridge)
            for count, total, moved_count, moved_total in zip(
                counts, sums, moved_counts, moved_sums, strict=True
            ):
                # prometheus_client adds to a histogram one observation at a time: each new one
                # of a bucket is observed at their mean, which lies in the same bucket, so the
                # bucket counts and the sum come out exact.
                new = count - moved_count
                for _ in range(new):
                    histogram.observe((total - moved_total) / new)
            self._durations[bridge] = (counts, sums)


async def move_counts(interval: float) -> None:
    """A worker's background task under several workers (see `CountsMover`)."""
    move = CountsMover()
    while True:
        await asyncio.sleep(interval)
        move()


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
    while True:
        LIVE_CONNECTIONS.set(live_connections())
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
