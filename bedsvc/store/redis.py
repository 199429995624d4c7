"""Every Redis client bedsvc makes: one server from `BEDSVC_REDIS_URL`, or the current primary
of a Sentinel-watched group (`BEDSVC_REDIS_SENTINELS`, `BEDSVC_REDIS_SENTINEL_MASTER`).

Through Sentinel, a connection asks the sentinels for the primary whenever it (re)connects,
so after a failover the next call reaches the new primary; calls in between fail as with
Redis down, which bedsvc survives (PostgreSQL is the record).

Credentials: with a URL, in the URL (`redis://user:password@host:6379/0`, `rediss://` for
TLS). Through Sentinel, the sentinels and the primary each have their own:
`BEDSVC_REDIS_SENTINEL_USERNAME`/`_PASSWORD` for the sentinels (their `requirepass` or ACL
user), `BEDSVC_REDIS_USERNAME`/`_PASSWORD` for the primary they name. Neither is ever sent to
the other.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff

from bedsvc.settings import RedisSettings

# Short timeouts: with Redis down, a request must fall back quickly, not hang.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "health_check_interval": 15,
}
# The timeouts of the sentinels themselves: they answer at once or not at all.
SENTINEL_TIMEOUT = 0.5


def bounded_retry(retries: int = 2) -> Retry:
    """redis-py's default retries a failed call ten times with backoff up to a second: a call
    to a stopped server then takes over four seconds, each reconnection asking the sentinels
    anew, and holds up the request or the reconcile round behind it. Two quick retries are
    enough to leave a dead connection for the promoted primary."""
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), retries)


class SentinelRedis(aioredis.Redis):
    """A client of the primary that also lets go of its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            for sentinel in pool.sentinel_manager.sentinels:
                await sentinel.aclose()


def credentials(username: str | None, password: SecretStr | None) -> dict[str, str]:
    """redis-py's keyword arguments for an AUTH: none without a password."""
    if password is None:
        return {}
    found = {"password": password.get_secret_value()}
    if username:
        found["username"] = username
    return found


def sentinel_options(redis: RedisSettings) -> dict[str, Any]:
    """How to reach a sentinel: its timeouts, no retries (a sentinel that does not answer is
    skipped for the next one) and its own credentials."""
    timeouts: dict[str, Any] = {
        "socket_timeout": SENTINEL_TIMEOUT,
        "socket_connect_timeout": SENTINEL_TIMEOUT,
        "retry": bounded_retry(0),
    }
    return timeouts | credentials(redis.redis_sentinel_username, redis.redis_sentinel_password)


def connect_redis(redis: RedisSettings, **options: Any) -> aioredis.Redis:
    """A client per the settings; `options` override the connection defaults (the change
    feed's blocking read, for one, waits longer than a plain call)."""
    kwargs = DEFAULTS | {"retry": bounded_retry()} | options
    if redis.redis_sentinels:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            redis.sentinel_addresses(), sentinel_kwargs=sentinel_options(redis)
        )
        kwargs |= credentials(redis.redis_username, redis.redis_password)
        client: aioredis.Redis = sentinel.master_for(
            str(redis.redis_sentinel_master), redis_class=SentinelRedis, **kwargs
        )
        return client
    if redis.redis_url is None:
        raise RuntimeError("BEDSVC_REDIS_URL (or BEDSVC_REDIS_SENTINELS) is unset")
    return aioredis.Redis.from_url(redis.redis_url, **kwargs)
