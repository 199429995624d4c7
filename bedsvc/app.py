"""The app factory: everything a worker needs is built here from one Settings object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import structlog
from litestar import Litestar
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from bedsvc import __version__
from bedsvc.admin.routes import AdminController
from bedsvc.bridges.aplicares.routes import AplicaresController
from bedsvc.bridges.envelopes import with_bridge_envelopes
from bedsvc.bridges.sirs.routes import sirs_router
from bedsvc.cache import AvailabilityCache
from bedsvc.errors import exception_handlers
from bedsvc.feed import ChangeFeed
from bedsvc.ingest.routes import IngestController
from bedsvc.live.access import allowed_origins
from bedsvc.live.discovery import live_endpoints
from bedsvc.live.hub import LiveHub, LiveLimits
from bedsvc.live.sse import LiveEventsController
from bedsvc.logs import configure_logging
from bedsvc.monitor.alerts import run_alerts
from bedsvc.monitor.routes import MonitorController
from bedsvc.ops import metric_handlers, prometheus_config
from bedsvc.public.fastpath import FastPath, FastPathApp
from bedsvc.public.nearcache import PublicCache
from bedsvc.public.routes import PublicController
from bedsvc.secret_box import load_secret_box
from bedsvc.services import BedClass, Services, get_services
from bedsvc.settings import Settings
from bedsvc.store import connect_pool, load_queries
from bedsvc.sync import CacheSync, cancel
from bedsvc.web.routes import web_handlers

log = structlog.get_logger(__name__)


def connect_redis(url: str) -> aioredis.Redis:
    # Short timeouts: with Redis down, a request must fall back quickly, not hang.
    return aioredis.Redis.from_url(
        url, socket_timeout=1.0, socket_connect_timeout=1.0, health_check_interval=15
    )


async def build_services(settings: Settings) -> Services:
    database_url, redis_url = settings.urls()
    queries = load_queries()
    pool = await connect_pool(database_url, settings.db_pool_min, settings.db_pool_max)
    async with pool.acquire() as conn:
        bed_classes = [BedClass(**dict(row)) async for row in queries.list_bed_classes(conn)]
    client = connect_redis(redis_url)
    cache = AvailabilityCache(client, settings.redis_prefix)
    sync = CacheSync(pool, cache, queries)
    feed = ChangeFeed(
        sync, redis_url, cache.channel, poll_interval=settings.cache_reconcile_seconds
    )
    bed_class_codes = frozenset(c.code for c in bed_classes)
    public = PublicCache(feed, settings, bed_class_codes)
    feed.add_listener(public)
    return Services(
        settings=settings,
        pool=pool,
        redis=client,
        queries=queries,
        cache=cache,
        sync=sync,
        bed_classes=bed_classes,
        feed=feed,
        secret_box=load_secret_box(settings),
        public=public,
        live=LiveHub(
            feed, public, bed_class_codes, LiveLimits(settings), allowed_origins(settings)
        ),
    )


def create_app(settings: Settings) -> Litestar:
    fast_path = FastPath()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        reconciler = asyncio.create_task(
            services.sync.run_reconciler(settings.cache_reconcile_seconds)
        )
        alerts = asyncio.create_task(
            run_alerts(services.pool, services.queries, settings, services.stale_after)
        )
        await services.feed.start()
        if settings.public_fast_path:
            fast_path.cache = services.public
        services.live.start()
        log.info("worker started", version=services.feed.version)
        try:
            yield
        finally:
            fast_path.cache = None
            await services.live.stop()
            await services.feed.stop()
            await cancel(alerts)
            await cancel(reconciler)
            await services.redis.aclose()
            await services.pool.close()
            log.info("worker stopped")

    configure_logging(settings.log_level, settings.log_json)
    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.write_rate_limit_per_minute),
        exclude=[
            r"^/api/v1/(availability|hospitals/[^/]+$|bed-classes|live)",
            r"^/(healthz|readyz|metrics|schema)",
            # Pages and their files: many citizens may share one address behind a NAT.
            r"^/($|dashboard$|static/)",
        ],
    )
    return FastPathApp(
        fast_path=fast_path,
        route_handlers=[
            PublicController,
            IngestController,
            AdminController,
            AplicaresController,
            sirs_router(settings.sirs_prefix),
            MonitorController,
            *web_handlers(settings),
            LiveEventsController,
            live_endpoints,
            *metric_handlers(),
        ],
        dependencies={"services": Provide(get_services, sync_to_thread=False)},
        exception_handlers=with_bridge_envelopes(exception_handlers, settings.sirs_prefix),
        lifespan=[lifespan],
        middleware=[rate_limit.middleware, prometheus_config().middleware],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="bedsvc",
            version=__version__,
            description="Hospital bed availability for a regency or city.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
    )
