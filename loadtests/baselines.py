"""The two baselines every bedsvc number is compared with, served the same way as bedsvc.

- `hello_app`: a bare Litestar handler returning a fixed short string: what the framework
  and server cost with no work at all.
- `naive_app`: availability the naive way: the availability query against PostgreSQL, the
  view built and encoded, on every request.

And `raw_bytes_app`, no framework at all: constant bytes (`BEDSVC_LOADTEST_BYTES` of them)
from a bare ASGI callable, what the server and the loopback cost for a body of that size.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
from litestar import Litestar, Request, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from bedsvc.public.availability import AvailabilityFilter, AvailabilityResponse, availability
from bedsvc.store import connect_pool, load_queries
from bedsvc.store.states import state_from_row

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
        version = await queries.global_version(conn)
        rows = [row async for row in queries.all_hospital_states(conn)]
    states = [state_from_row(row) for row in rows]
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


def raw_bytes_app() -> ASGIApp:
    body = b"x" * int(os.environ.get("BEDSVC_LOADTEST_BYTES", "5"))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

    return app
