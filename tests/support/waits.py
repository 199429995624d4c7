"""Waits that poll for an expected state with a deadline; a wait that runs out says what
it saw last. Every wait goes through `eventually`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from bedsvc.store import load_queries
from tests.support.payloads import bearer, report, ward

T = TypeVar("T")


async def eventually(
    look: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    what: str,
    timeout: float = 5.0,
    every: float = 0.02,
) -> T:
    """Looks (`look`) until what it sees is `done`, and returns that; after `timeout` seconds
    an AssertionError names `what` was awaited and what was seen last."""
    deadline = time.monotonic() + timeout
    while True:
        seen = await look()
        if done(seen):
            return seen
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what}; last seen: {seen!r}")
        await asyncio.sleep(every)


def truthy(seen: Any) -> bool:
    return bool(seen)


async def wait_for_version(
    client: AsyncTestClient[Litestar], code: str, version: int, timeout: float = 3.0
) -> None:
    """The public API follows commits through the change stream: wait until it shows hospital
    `code` at `version` (the version a push answered) or later."""

    async def shown() -> int:
        response = await client.get(f"/api/v1/hospitals/{code}")
        return int(response.json()["version"]) if response.status_code == 200 else -1

    await eventually(
        shown,
        lambda seen: seen >= version,
        f"public API shows {code} at version {version}",
        timeout,
    )


async def push_until_refused(
    client: AsyncTestClient[Litestar], code: str, key: str, within: float
) -> httpx.Response:
    """Pushes until the key is refused: a checked key is trusted for `key_cache_seconds`, so a
    revocation must take effect within that. The refusal, or an AssertionError."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward(), minutes_ago=0),
            headers=bearer(key),
        )
        if response.status_code != 200:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"key still accepted {within} s after its revocation")
        await asyncio.sleep(0.05)


async def wait_for_global_version(
    client: AsyncTestClient[Litestar], version: int, timeout: float = 3.0
) -> None:
    """Waits until the public documents are at global `version` (as another worker's
    documents said) or later."""

    async def shown() -> int:
        return int((await client.get("/api/v1/availability?limit=1")).json()["version"])

    await eventually(
        shown, lambda seen: seen >= version, f"public documents at version {version}", timeout
    )


async def wait_until_unlisted(
    client: AsyncTestClient[Litestar], code: str, timeout: float = 3.0
) -> None:

    async def status() -> int:
        return (await client.get(f"/api/v1/hospitals/{code}")).status_code

    await eventually(
        status, lambda seen: seen == 404, f"public API no longer lists {code}", timeout
    )


async def waiting_on_a_lock(conn: asyncpg.Connection, timeout: float = 10) -> None:
    """Until a statement of this database waits on a row lock (the push a test holds up)."""

    async def waiting() -> int:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return count

    await eventually(waiting, truthy, "a statement waits on a row lock", timeout)


async def global_version(pool: asyncpg.Pool) -> int:
    """PostgreSQL's global version (the sum of every hospital's): right after a write, the
    version of the first state that includes it, when nothing else writes meanwhile."""
    async with pool.acquire() as conn:
        version: int = await load_queries().global_version(conn)
    return version


async def wait_until_current(client: AsyncTestClient[Litestar], timeout: float = 3.0) -> None:
    """Waits until the public API shows every change PostgreSQL has committed (for writes whose
    answer carries no version, such as the bridges')."""
    settings: Settings = client.app.state.services.settings
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        version: int = await load_queries().global_version(conn)
    finally:
        await conn.close()
    await wait_for_global_version(client, version, timeout)


async def clear_of_minute_edge(needed: float = 5.0) -> None:
    """Rate limits count per minute: a test that counts up to a limit starts early enough in
    a minute to finish within it."""
    left = 60 - time.time() % 60
    if left < needed:
        await asyncio.sleep(left + 0.05)
