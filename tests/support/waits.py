"""Waits that poll for an expected state with a deadline; a wait that runs out says what
it saw last."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from bedsvc.store import load_queries
from tests.support.payloads import bearer, report, ward


async def wait_for_version(
    client: AsyncTestClient[Litestar], code: str, version: int, timeout: float = 3.0
) -> None:
    """The public API follows commits through the change stream: wait until it shows hospital
    `code` at `version` (the version a push answered) or later."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = -1
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"/api/v1/hospitals/{code}")
        seen = response.json()["version"] if response.status_code == 200 else -1
        if seen >= version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public API shows {code} at version {seen}, expected {version}")


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
    deadline = asyncio.get_running_loop().time() + timeout
    seen = -1
    while asyncio.get_running_loop().time() < deadline:
        seen = (await client.get("/api/v1/availability?limit=1")).json()["version"]
        if seen >= version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public documents still at version {seen}, expected {version}")


async def wait_until_unlisted(
    client: AsyncTestClient[Litestar], code: str, timeout: float = 3.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if (await client.get(f"/api/v1/hospitals/{code}")).status_code == 404:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public API still lists {code}")


async def waiting_on_a_lock(conn: asyncpg.Connection, timeout: float = 10) -> None:
    """Until a statement of this database waits on a row lock (the push a test holds up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the push never reached the database")


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
    conn = await asyncpg.connect(settings.database_url)
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
