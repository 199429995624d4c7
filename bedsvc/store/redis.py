"""Every Redis client bedsvc makes: one server from `BEDSVC_REDIS_URL`, or the current primary
of a Sentinel-watched group (`BEDSVC_REDIS_SENTINELS`, `BEDSVC_REDIS_SENTINEL_MASTER`).

Through Sentinel, a connection asks the sentinels for the primary whenever it (re)connects,
so after a failover the next call reaches the new primary; calls in between fail as with
Redis down, which bedsvc survives (PostgreSQL is the record).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

from bedsvc.settings import Settings

# Short timeouts: with Redis down, a request must fall back quickly, not hang.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "health_check_interval": 15,
}


class SentinelRedis(aioredis.Redis):
    """A client of the primary that also lets go of its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            for sentinel in pool.sentinel_manager.sentinels:
                await sentinel.aclose()


def connect_redis(settings: Settings, **options: Any) -> aioredis.Redis:
    """A client per the settings; `options` override the connection defaults (the change
    feed's subscription, for one, must not time out on a quiet channel)."""
    kwargs = DEFAULTS | options
    if settings.redis_sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            settings.sentinel_addresses(),
            # the sentinels themselves answer at once or not at all
            sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        )
        client: aioredis.Redis = sentinel.master_for(
            str(settings.redis_sentinel_master), redis_class=SentinelRedis, **kwargs
        )
        return client
    if settings.redis_url is None:
        raise RuntimeError("BEDSVC_REDIS_URL (or BEDSVC_REDIS_SENTINELS) is unset")
    return aioredis.Redis.from_url(settings.redis_url, **kwargs)
