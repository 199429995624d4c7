"""The two baselines every bedsvc number is compared with, served the same way as bedsvc.

- `hello_app`: a bare Litestar handler returning a fixed short string: what the framework
  and server cost with no work at all.
- `naive_app`: availability the naive way: the availability query against PostgreSQL, the
  view built and encoded, on every request.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
from litestar import Litestar, Request, get

from bedsvc.availability import AvailabilityFilter, AvailabilityResponse, availability
from bedsvc.store import connect_pool, load_queries
from bedsvc.sync import state_from_row

STALE_AFTER = timedelta(seconds=1800)


@get("/hello", media_type="text/plain")
async def hello() -> str:
    return "hello"


def hello_app() -> Litestar:
    return Litestar(route_handlers=[hello])


@get("/api/v1/availability")
async def naive_availability(request: Request[Any, Any, Any]) -> AvailabilityResponse:
    pool: asyncpg.Pool = request.app.state.pool
    queries = load_queries()
    async with pool.acquire() as conn:
        version = await queries.current_version(conn)
        rows = [row async for row in queries.all_hospital_states(conn)]
    states = [state_from_row(row, version) for row in rows]
    return availability(states, version, AvailabilityFilter(), STALE_AFTER)


def naive_app() -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await connect_pool(os.environ["BEDSVC_DATABASE_URL"], 4, 10)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(route_handlers=[naive_availability], lifespan=[lifespan])
