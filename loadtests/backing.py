"""PostgreSQL and Redis for a load-test run: the given servers or embedded ones, a database
and a Redis key prefix of the run's own, filled with the data set and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

from bedsvc.app import build_services
from bedsvc.runtime.embedded import start_postgres, start_redis
from bedsvc.settings import Settings
from bedsvc.store import migrate
from loadtests.dataset import Hospital, generate, load


@dataclass
class Backing:
    database_url: str
    redis_url: str
    redis_prefix: str
    hospitals: list[Hospital]
    keys: dict[str, str]

    def env(self) -> dict[str, str]:
        """What a bedsvc worker under test is configured with."""
        return {
            "BEDSVC_DATABASE_URL": self.database_url,
            "BEDSVC_REDIS_URL": self.redis_url,
            "BEDSVC_REDIS_PREFIX": self.redis_prefix,
            "BEDSVC_LOG_LEVEL": "WARNING",
            # Per key: the runs measure throughput, not the limit.
            "BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE": "1000000",
        }


@contextlib.contextmanager
def servers() -> Any:
    """URLs of the PostgreSQL and Redis servers: from the environment, else embedded."""
    database_url = os.environ.get("BEDSVC_LOADTEST_DATABASE_URL")
    redis_url = os.environ.get("BEDSVC_LOADTEST_REDIS_URL")
    with tempfile.TemporaryDirectory(prefix="bedsvc-load-") as folder:
        handles = []
        if database_url is None:
            database_url, postgres = start_postgres(Path(folder))
            handles.append(postgres.cleanup)
        if redis_url is None:
            redis_url, redis_server = start_redis(Path(folder))
            handles.append(lambda: redis_server.shutdown(save=False))
        try:
            yield database_url, redis_url
        finally:
            for stop in reversed(handles):
                stop()


@contextlib.asynccontextmanager
async def prepared(
    server_database_url: str, redis_url: str, hospitals: list[Hospital] | None = None
) -> AsyncIterator[Backing]:
    """A database and key prefix of the run's own with `hospitals` (default: the province's)
    registered and reported once through bedsvc's code, removed afterwards."""
    name = f"bedsvc_load_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = urlunsplit(urlsplit(server_database_url)._replace(path=f"/{name}"))
    prefix = f"bedsvc-load-{secrets.token_hex(4)}"
    try:
        await migrate(database_url)
        settings = Settings(database_url=database_url, redis_url=redis_url, redis_prefix=prefix)
        services = await build_services(settings)
        try:
            hospitals = generate() if hospitals is None else hospitals
            keys = await load(services, hospitals)
        finally:
            await services.redis.aclose()
            await services.pool.close()
        yield Backing(database_url, redis_url, prefix, hospitals, keys)
    finally:
        client = aioredis.Redis.from_url(redis_url)
        stale_keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if stale_keys:
            await client.delete(*stale_keys)
        await client.aclose()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
