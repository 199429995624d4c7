"""The app factory: everything a worker needs is built here from one Settings object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import asyncpg
import redis.asyncio as aioredis
import structlog
from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import Middleware

from bedsvc import __version__
from bedsvc.admin.routes import AdminController
from bedsvc.auth import KeyCache
from bedsvc.bridges.aplicares.routes import AplicaresController
from bedsvc.bridges.envelopes import with_bridge_envelopes
from bedsvc.bridges.sirs.routes import sirs_router
from bedsvc.cache import AvailabilityCache
from bedsvc.errors import exception_handlers
from bedsvc.feed import ChangeFeed
from bedsvc.health import Health
from bedsvc.ingest.routes import IngestController
from bedsvc.live.access import allowed_origins
from bedsvc.live.discovery import live_endpoints
from bedsvc.live.hub import LiveHub, LiveLimits
from bedsvc.live.sse import LiveEventsController
from bedsvc.logs import configure_logging
from bedsvc.metrics import FeedMetrics, push_metrics, worker_stopped
from bedsvc.metrics_sampling import sample_worker
from bedsvc.monitor.alerts import run_alerts
from bedsvc.monitor.audit import AuditController
from bedsvc.monitor.routes import MonitorController
from bedsvc.ops import check_readiness, metric_handlers, prometheus_config, run_readiness
from bedsvc.proxies import ForwardedMiddleware, TrustedProxies, parse_networks
from bedsvc.public.fastpath import FastPath, FastPathApp
from bedsvc.public.nearcache import PublicCache
from bedsvc.public.registry import RegistryController
from bedsvc.public.routes import PublicController
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.ratelimit.middleware import RateLimitMiddleware
from bedsvc.redis_client import connect_redis
from bedsvc.secret_box import load_secret_box
from bedsvc.services import BedClass, Services, get_services
from bedsvc.settings import Settings
from bedsvc.shutdown import on_stop_signal
from bedsvc.staff.csv_upload import OccupancyCsvController
from bedsvc.staff.routes import SessionController, UsersController
from bedsvc.store import Queries, connect_pool, load_queries
from bedsvc.sync import CacheSync
from bedsvc.tasks import cancel
from bedsvc.throttle import FailureThrottle
from bedsvc.web.routes import web_handlers

log = structlog.get_logger(__name__)

# How often each worker samples the gauges that are states (feed lag, live connections): a
# PostgreSQL version read per sample.
METRICS_SAMPLE_SECONDS = 2.0


# How long a stopping worker waits for its database connections to come back.
POOL_CLOSE_SECONDS = 5.0
# How long the change feed's read waits for new entries; its connection times out later.
FEED_BLOCK_SECONDS = 1.0


def change_feed(
    settings: Settings, pool: asyncpg.Pool, queries: Queries, client: aioredis.Redis
) -> ChangeFeed:
    """A process's change feed over the Redis cache, as the HTTP workers and the live
    processes follow it."""
    cache = AvailabilityCache(client, settings.redis_prefix, settings.change_stream_length)
    return ChangeFeed(
        CacheSync(pool, cache, queries),
        partial(connect_redis, settings, socket_timeout=FEED_BLOCK_SECONDS + 5),
        cache.stream_key,
        block_seconds=FEED_BLOCK_SECONDS,
        poll_interval=settings.cache_reconcile_seconds,
    )


async def build_services(settings: Settings) -> Services:
    database_url, _ = settings.urls()
    queries = load_queries()
    pool = await connect_pool(database_url, settings.db_pool_min, settings.db_pool_max)
    replica_pool = pool
    if settings.database_replica_url is not None:
        replica_pool = await connect_pool(
            settings.database_replica_url, settings.db_pool_min, settings.db_pool_max
        )
    async with pool.acquire() as conn:
        bed_classes = [BedClass(**dict(row)) async for row in queries.list_bed_classes(conn)]
    client = connect_redis(settings)
    feed = change_feed(settings, pool, queries, client)
    sync = feed.sync
    bed_class_codes = frozenset(c.code for c in bed_classes)
    public = PublicCache(feed, settings, bed_class_codes)
    feed.add_listener(public)
    feed.add_listener(FeedMetrics())
    return Services(
        settings=settings,
        pool=pool,
        redis=client,
        queries=queries,
        cache=sync.cache,
        sync=sync,
        bed_classes=bed_classes,
        feed=feed,
        secret_box=load_secret_box(settings),
        public=public,
        live=LiveHub(
            feed, public, bed_class_codes, LiveLimits(settings), allowed_origins(settings)
        ),
        keys=KeyCache(settings.key_cache_seconds),
        throttle=FailureThrottle(
            client, settings.redis_prefix, settings.signin_failure_window_seconds
        ),
        health=Health(),
        rate_limits=RateCounter(client, settings.redis_prefix),
        replica_pool=replica_pool,
    )


async def close_pool(pool: asyncpg.Pool) -> None:
    """Closes the pool once its connections come back, within a bound: a connection still
    held at shutdown (a request the server gave up on) must not keep the worker from exiting."""
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database connections still in use at shutdown: closed")
        pool.terminate()


def start_background_loops(services: Services) -> list[asyncio.Task[None]]:
    """The worker's own loops: cache reconciliation, alerts, readiness, sampled metrics."""
    settings = services.settings
    return [
        asyncio.create_task(services.sync.run_reconciler(settings.cache_reconcile_seconds)),
        asyncio.create_task(
            run_alerts(
                services.pool, services.queries, settings, services.stale_after, services.health
            )
        ),
        asyncio.create_task(
            run_readiness(
                services.health,
                services.pool,
                services.queries,
                services.redis,
                settings.readiness_interval_seconds,
            )
        ),
        asyncio.create_task(
            sample_worker(
                services.feed,
                services.pool,
                services.queries,
                lambda: len(services.live.subscribers),
                settings.live_max_connections,
                METRICS_SAMPLE_SECONDS,
            )
        ),
    ]


def create_app(
    settings: Settings, *, stop_on_signal: bool = False, background_loops: bool = True
) -> Litestar:
    """`stop_on_signal`: the app runs in a server's worker process of its own, whose stop
    signals end the live streams at once (bedsvc/shutdown.py). Without `background_loops`
    (tests that run those steps themselves) the worker starts none of its own loops."""
    fast_path = FastPath()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        await check_readiness(services.health, services.pool, services.queries, services.redis)
        loops = start_background_loops(services) if background_loops else []
        await services.feed.start()
        if settings.public_fast_path:
            fast_path.cache = services.public
        services.live.start()
        # A stop signal ends the event streams at once (the task is kept until shutdown).
        ending: list[asyncio.Task[None]] = []
        restore_signals = None
        if stop_on_signal:
            restore_signals = on_stop_signal(
                lambda: ending.append(asyncio.create_task(services.live.stop()))
            )
        log.info("worker started", version=services.feed.version)
        try:
            yield
        finally:
            if restore_signals is not None:
                restore_signals()
            fast_path.cache = None
            await services.live.stop()
            await services.feed.stop()
            for loop in loops:
                await cancel(loop)
            await services.redis.aclose()
            await close_pool(services.pool)
            if services.replica_pool is not services.pool:
                await close_pool(services.replica_pool)
            worker_stopped()
            log.info("worker stopped")

    configure_logging(settings.log_level, settings.log_json)
    # Pushes are counted outside the rate limit, so that refused ones count too.
    middleware: list[Middleware] = [push_metrics, RateLimitMiddleware(settings)]
    proxies = TrustedProxies(parse_networks(settings.trusted_proxies))
    if proxies:
        # Outermost: the rate limits and everything after see the real client.
        middleware.insert(0, ForwardedMiddleware(proxies))
    return FastPathApp(
        fast_path=fast_path,
        route_handlers=[
            PublicController,
            RegistryController,
            IngestController,
            AdminController,
            AplicaresController,
            sirs_router(settings.sirs_prefix),
            MonitorController,
            AuditController,
            SessionController,
            OccupancyCsvController,
            UsersController,
            *web_handlers(settings),
            LiveEventsController,
            live_endpoints,
            *metric_handlers(),
        ],
        dependencies={"services": Provide(get_services, sync_to_thread=False)},
        exception_handlers=with_bridge_envelopes(exception_handlers, settings.sirs_prefix),
        lifespan=[lifespan],
        middleware=[*middleware, prometheus_config().middleware],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="bedsvc",
            version=__version__,
            description="Hospital bed availability for a regency or city.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
    )
