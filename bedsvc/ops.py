"""For operators' tooling: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from redis.exceptions import RedisError

from bedsvc.services import Services


class Health(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str
    database: str
    redis: str


@get("/healthz", tags=["operations"], summary="The process is up")
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["operations"],
    summary="PostgreSQL and Redis are reachable",
    responses={503: ResponseSpec(Readiness, description="PostgreSQL or Redis is unreachable")},
)
async def readyz(services: NamedDependency[Services]) -> Response[Readiness]:
    database = redis = "ok"
    try:
        async with services.pool.acquire(timeout=2) as conn:
            await services.queries.current_version(conn)
    except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
        database = f"unreachable: {type(exc).__name__}"
    try:
        await services.redis.ping()
    except (RedisError, OSError) as exc:
        redis = f"unreachable: {type(exc).__name__}"
    ready = database == redis == "ok"
    body = Readiness(status="ready" if ready else "not ready", database=database, redis=redis)
    return Response(body, status_code=200 if ready else 503)


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
