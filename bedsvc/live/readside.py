"""The read side of a process, wired one way for the HTTP workers and the live processes:
the bed classes, the change feed over the Redis cache, the public near-cache that follows it
and the live hub that splices the near-cache's fragments into frames."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import asyncpg
import redis.asyncio as aioredis

from bedsvc.live.access import allowed_origins
from bedsvc.live.hub import LiveHub, LiveLimits
from bedsvc.public.nearcache import PublicCache
from bedsvc.settings import Settings
from bedsvc.state.cache import AvailabilityCache
from bedsvc.state.feed import ChangeFeed
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries
from bedsvc.store.redis import connect_redis
from bedsvc.store.reference import BedClass, load_bed_classes

# How long the change feed's read waits for new entries; its connection times out later.
FEED_BLOCK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ReadSide:
    bed_classes: list[BedClass]
    feed: ChangeFeed
    public: PublicCache
    live: LiveHub

    @property
    def sync(self) -> CacheSync:
        return self.feed.sync


def change_feed(
    settings: Settings, pool: asyncpg.Pool, queries: Queries, client: aioredis.Redis
) -> ChangeFeed:
    """A process's change feed over the Redis cache."""
    cache = AvailabilityCache(
        client, settings.redis.redis_prefix, settings.redis.change_stream_length
    )
    return ChangeFeed(
        CacheSync(pool, cache, queries),
        partial(connect_redis, settings.redis, socket_timeout=FEED_BLOCK_SECONDS + 5),
        cache.stream_key,
        block_seconds=FEED_BLOCK_SECONDS,
        poll_interval=settings.redis.cache_reconcile_seconds,
        read_gap=settings.redis.change_read_gap_ms / 1000,
    )


async def build_read_side(
    settings: Settings, pool: asyncpg.Pool, queries: Queries, client: aioredis.Redis
) -> ReadSide:
    """Built, not started: the feed starts (and loads every hospital) when the process is
    ready to serve."""
    async with pool.acquire() as conn:
        bed_classes = await load_bed_classes(conn, queries)
    codes = frozenset(c.code for c in bed_classes)
    feed = change_feed(settings, pool, queries, client)
    public = PublicCache(feed, settings, codes)
    feed.add_listener(public)
    live = LiveHub(feed, public, codes, LiveLimits(settings), allowed_origins(settings.live))
    return ReadSide(bed_classes, feed, public, live)
