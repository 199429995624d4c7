"""For operators' tooling: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import msgspec
import redis.asyncio as aioredis
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from redis.exceptions import RedisError

from bedsvc.ops.health import Health as WorkerHealth
from bedsvc.ops.metrics import record_database_error, record_redis_error
from bedsvc.store import Queries


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    database: str
    redis: str
    alerts: str
    checked_at: str


@get("/healthz", tags=["operations"], summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["operations"],
    summary="PostgreSQL and Redis are reachable",
    responses={503: ResponseSpec(Readiness, description="PostgreSQL or Redis is unreachable")},
)
async def readyz(health: NamedDependency[WorkerHealth]) -> Response[Readiness]:
    """As last checked by the worker's background task (every
    `BEDSVC_READINESS_INTERVAL_SECONDS`): a call costs no connection, however many arrive.
    `alerts` tells whether the last alert evaluation failed; it does not make the worker
    unready, as serving does not depend on it."""
    current = health.checked_lately()
    ready = current and health.database == health.redis == "ok"
    body = Readiness(
        status="ready" if ready else "not ready",
        database=health.database if current else "not checked lately",
        redis=health.redis if current else "not checked lately",
        alerts=health.alerts,
        checked_at=health.checked_at.isoformat() if health.checked_at else "",
    )
    return Response(body, status_code=200 if ready else 503)


async def check_readiness(
    health: WorkerHealth, pool: asyncpg.Pool, queries: Queries, client: aioredis.Redis
) -> None:
    """One check of both servers, written into `health`."""
    database = redis = "ok"
    try:
        async with pool.acquire(timeout=2) as conn:
            await queries.ping(conn)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        database = f"unreachable: {type(exc).__name__}"
        record_database_error("readiness")
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        redis = f"unreachable: {type(exc).__name__}"
        record_redis_error("readiness")
    health.servers_checked(database, redis)


async def run_readiness(
    health: WorkerHealth,
    pool: asyncpg.Pool,
    queries: Queries,
    client: aioredis.Redis,
    interval: float,
) -> None:
    while True:
        await asyncio.sleep(interval)
        await check_readiness(health, pool, queries, client)


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="bedsvc",
        prefix="bedsvc",
        group_path=True,
        # Live streams last as long as a citizen watches: not requests to time.
        exclude=["/metrics", "/healthz", "/readyz", "/api/v1/live"],
    )


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def metric_handlers() -> list[Any]:
    return [healthz, readyz, MetricsController]
