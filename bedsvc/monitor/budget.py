"""What a monitor query may cost: a statement timeout, and no work for a client that left.

The monitor's queries read history that grows without end, and the health office may ask for
any range; so each runs in a transaction with `statement_timeout` (SET LOCAL: the pooled
connection keeps no trace of it), and a JSON answer is computed in a task that is cancelled
when the client disconnects (asyncpg then cancels the query in PostgreSQL). The CSV export is
written to a temporary file the same way before it is sent, so that no transaction waits on a
client's reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
from litestar import Request
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from bedsvc.errors import BedsvcError
from bedsvc.store import Conn, Queries

T = TypeVar("T")

# How soon PostgreSQL notices the connection of a running monitor query was closed.
_CHECK_INTERVAL_MS = "1000"


class QueryTooCostly(BedsvcError):
    status_code = HTTP_503_SERVICE_UNAVAILABLE
    title = "Query took too long"


@asynccontextmanager
async def monitor_connection(
    pool: asyncpg.Pool, queries: Queries, timeout_seconds: float
) -> AsyncIterator[Conn]:
    """A connection in a transaction whose statements stop after `timeout_seconds`."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await queries.set_local_query_limits(
                conn, timeout=str(int(timeout_seconds * 1000)), check_interval=_CHECK_INTERVAL_MS
            )
            yield conn
    except asyncpg.QueryCanceledError:
        raise QueryTooCostly(
            f"The query ran longer than {timeout_seconds:g} s and was stopped; ask for a "
            "shorter range, a larger bucket, or one region, hospital or bed class."
        ) from None


async def unless_disconnected(request: Request[Any, Any, Any], work: Awaitable[T]) -> T:
    """Awaits `work`, cancelling it if the client disconnects first."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        return await task
    finally:
        watcher.cancel()
