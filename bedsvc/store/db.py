from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import asyncpg.pool
import msgspec

# What a function that runs queries takes: a plain connection or one borrowed from the pool.
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def sql_dir() -> Path:
    """sql/ of a source checkout, or its copy inside an installed wheel."""
    packaged = Path(__file__).resolve().parent.parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb values decode straight into Python objects with msgspec (faster than json).
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool.

    asyncpg's default reset runs one more query (RESET ALL, UNLISTEN, advisory unlocks …) on
    every release, a round trip on every push. bedsvc leaves no session state behind: settings
    are set transaction-locally (`set_config(…, true)`), cursors live in transactions, nothing
    listens, and the migrations' advisory lock is taken on a connection of their own. asyncpg
    still rolls back a transaction left open before this runs."""


# Defaults for the command line's short-lived pools; a worker passes its settings.
ACQUIRE_TIMEOUT_SECONDS = 10.0
IDLE_IN_TRANSACTION_SECONDS = 30.0


class BoundedAcquire:
    """`async with pool.acquire()`, waiting at most `timeout` seconds for the connection.

    Only the wait is bounded: asyncpg's own `acquire(timeout=…)` also bounds the connection's
    clean-up on release by that time, which cuts short the cancellation of a query whose
    client left (the connection is then dropped instead of the query being stopped)."""

    __slots__ = ("_context", "_timeout")

    def __init__(self, context: asyncpg.pool.PoolAcquireContext, timeout: float) -> None:
        self._context = context
        self._timeout = timeout

    async def __aenter__(self) -> asyncpg.pool.PoolConnectionProxy:
        async with asyncio.timeout(self._timeout):
            connection: asyncpg.pool.PoolConnectionProxy = await self._context.__aenter__()
        return connection

    async def __aexit__(self, *exc: object) -> None:
        await self._context.__aexit__(*exc)


class BoundedPool(asyncpg.Pool):
    """A pool whose every wait for a connection ends after `acquire_timeout` seconds.

    asyncpg waits for ever by default: with every connection held (by slow clients, for one),
    a push would hang instead of being answered. The TimeoutError it raises instead is one of
    the connection failures bedsvc answers 503 with Retry-After (bedsvc/errors.py)."""

    acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS

    def acquire(self, *, timeout: float | None = None) -> BoundedAcquire:  # type: ignore[override]
        context = super().acquire()
        return BoundedAcquire(context, self.acquire_timeout if timeout is None else timeout)


async def connect_pool(
    dsn: str,
    min_size: int = 1,
    max_size: int = 10,
    *,
    acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
    idle_in_transaction_seconds: float = IDLE_IN_TRANSACTION_SECONDS,
) -> asyncpg.Pool:
    """A pool of `max_size` connections, each ended by PostgreSQL when it sits idle in a
    transaction for `idle_in_transaction_seconds` (a client that stopped reading must not
    hold locks and a connection for ever), and waited for at most `acquire_timeout`."""
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=_init_connection,
        reset=_keep_session,
        server_settings={
            "idle_in_transaction_session_timeout": str(int(idle_in_transaction_seconds * 1000))
        },
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )
    pool.acquire_timeout = acquire_timeout
    await pool
    return pool
