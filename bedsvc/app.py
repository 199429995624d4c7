"""The app factory: everything a worker needs is built here from one Settings object."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import Middleware

from bedsvc import __version__
from bedsvc.access.actor import current_actor
from bedsvc.access.forwarded import ForwardedMiddleware
from bedsvc.access.gate import Gate
from bedsvc.access.keys import KeyCache
from bedsvc.access.proxies import TrustedProxies, parse_networks
from bedsvc.access.throttle import SignInThrottle
from bedsvc.admin.routes import AdminController
from bedsvc.admin.service import AdminService
from bedsvc.bridges.aplicares.routes import AplicaresController
from bedsvc.bridges.envelopes import with_bridge_envelopes
from bedsvc.bridges.service import BridgeService
from bedsvc.bridges.sirs.routes import sirs_router
from bedsvc.ingest.batches import ReportWriter
from bedsvc.ingest.fastpath import FastPush
from bedsvc.ingest.routes import IngestController
from bedsvc.ingest.service import IngestService
from bedsvc.live.discovery import live_endpoints
from bedsvc.live.readside import build_read_side
from bedsvc.live.sse import LiveEventsController
from bedsvc.monitor.alerts import run_alerts
from bedsvc.monitor.audit import AuditController
from bedsvc.monitor.routes import MonitorController
from bedsvc.monitor.service import MonitorService
from bedsvc.notifications.routes import NotificationsController
from bedsvc.notifications.sender import run_notifications
from bedsvc.notifications.service import NotificationService
from bedsvc.notifications.vapid import VapidKey
from bedsvc.ops.health import Health
from bedsvc.ops.metrics import FeedMetrics, multiprocess_mode, worker_stopped
from bedsvc.ops.metrics_sampling import move_counts, sample_worker
from bedsvc.ops.push_metrics import push_metrics
from bedsvc.ops.routes import check_readiness, metric_handlers, prometheus_config, run_readiness
from bedsvc.problems import exception_handlers
from bedsvc.public.fastpath import FastPath, FastPathApp
from bedsvc.public.registry import RegistryController
from bedsvc.public.routes import PublicController
from bedsvc.public.service import PublicService
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.ratelimit.middleware import RateLimits, rate_limited
from bedsvc.relay.registries import base_urls
from bedsvc.relay.routes import (
    HospitalRelayController,
    RelayAdminController,
    RelayMonitorController,
)
from bedsvc.relay.service import RelayService
from bedsvc.relay.worker import RelayWorker
from bedsvc.runtime.heap import WORKER_YOUNG_THRESHOLD, settle_heap
from bedsvc.runtime.logs import configure_logging
from bedsvc.runtime.shutdown import on_stop_signal
from bedsvc.runtime.tasks import cancel
from bedsvc.secret_box import load_secret_box
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.staff.csv_upload import OccupancyCsvController
from bedsvc.staff.routes import SessionController, UsersController
from bedsvc.staff.service import StaffService
from bedsvc.store import connect_pool, load_queries
from bedsvc.store.redis import connect_redis
from bedsvc.web.routes import asset_versions, web_handlers
from bedsvc.web.schema import ApiReference, schema_router

log = structlog.get_logger(__name__)

# How often each worker samples the gauges that are states (feed lag, live connections): a
# PostgreSQL version read per sample.
METRICS_SAMPLE_SECONDS = 2.0
# How often a worker under several moves its lock-free counts into the shared metrics.
METRICS_MOVE_SECONDS = 0.5


# How long a stopping worker waits for its database connections to come back.
POOL_CLOSE_SECONDS = 5.0


async def build_services(settings: Settings) -> Services:
    database_url, _ = settings.urls()
    queries = load_queries()
    bounds = {
        "acquire_timeout": settings.database.db_acquire_timeout_seconds,
        "idle_in_transaction_seconds": settings.database.db_idle_in_transaction_timeout_seconds,
    }
    pool = await connect_pool(
        database_url, settings.database.db_pool_min, settings.database.db_pool_max, **bounds
    )
    # The monitor's reads and exports take their own few connections (on the replica when
    # there is one): however many run or stall, the pushes' connections stay free.
    # Opened when the monitor is used, not kept open by every worker.
    replica_pool = await connect_pool(
        settings.database.database_replica_url or database_url,
        0,
        settings.database.db_monitor_pool_max,
        **bounds,
    )
    client = connect_redis(settings.redis)
    reads = await build_read_side(settings, pool, queries, client)
    reads.feed.add_listener(FeedMetrics())
    return Services(
        settings=settings,
        pool=pool,
        redis=client,
        queries=queries,
        cache=reads.sync.cache,
        sync=reads.sync,
        bed_classes=reads.bed_classes,
        feed=reads.feed,
        secret_box=load_secret_box(settings),
        public=reads.public,
        live=reads.live,
        keys=KeyCache(settings.access.key_cache_seconds),
        throttle=SignInThrottle(client, settings.redis.redis_prefix, settings.access),
        health=Health(check_interval=settings.server.readiness_interval_seconds),
        rate_limits=RateCounter(
            client, settings.redis.redis_prefix, batch=settings.access.rate_limit_batch
        ),
        replica_pool=replica_pool,
    )


# What handlers take by name (`NamedDependency[T]`): built once per worker in the lifespan
# (`keep_area_services`) and kept on the app's state under that name.
STATE_DEPENDENCIES = (
    "admin",
    "bridges",
    "health",
    "ingest",
    "live",
    "monitor",
    "notifications",
    "public",
    "relays",
    "staff",
)


def keep_area_services(state: State, services: Services, vapid_key: VapidKey) -> None:
    """One object per area of routes, holding what those routes use and nothing else. The
    guards read theirs (`gate`, `bridges`) from the state as well: guards run before
    dependencies are resolved."""
    pool, queries, settings = services.pool, services.queries, services.settings
    codes = services.bed_class_codes
    state.gate = Gate(pool, queries, services.keys)
    state.admin = AdminService(pool, queries, services.sync)
    state.bridges = BridgeService(
        pool,
        queries,
        services.sync,
        settings,
        services.bed_classes,
        codes,
        services.throttle,
        services.secret_box,
    )
    state.health = services.health
    writer = ReportWriter(
        pool,
        queries,
        services.sync,
        max_open_wards=settings.ingest.max_wards_per_hospital,
        max_batch=settings.ingest.report_batch_max,
        concurrency=settings.ingest.report_batches,
    )
    state.ingest = IngestService(pool, queries, services.sync, settings.ingest, codes, writer)
    state.live = services.live
    state.monitor = MonitorService(
        pool,
        services.replica_pool,
        queries,
        services.bed_classes,
        codes,
        services.stale_after,
        settings,
    )
    state.notifications = NotificationService(
        pool, queries, codes, vapid_key, settings.notifications
    )
    state.public = PublicService(services.public, services.bed_classes, pool, queries)
    state.relays = RelayService(pool, queries, services.secret_box, base_urls(settings.relay))
    state.staff = StaffService(
        pool,
        queries,
        services.throttle,
        settings.access.password_hash_profile,
        settings.access.session_seconds,
    )


def from_state(name: str) -> Provide:
    """A dependency built in the lifespan and kept on the app's state under `name`; the
    handler's annotation (`NamedDependency[T]`) says its type."""

    def provide(state: State) -> Any:
        return state[name]

    return Provide(provide, sync_to_thread=False)


async def close_pool(pool: asyncpg.Pool) -> None:
    """Closes the pool once its connections come back, within a bound: a connection still
    held at shutdown (a request the server gave up on) must not keep the worker from exiting."""
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database connections still in use at shutdown: closed")
        pool.terminate()


def start_background_loops(
    services: Services, relay: RelayWorker, vapid_key: VapidKey
) -> list[asyncio.Task[None]]:
    """The worker's own loops: cache reconciliation, alerts, notifications, relays,
    readiness, sampled metrics."""
    settings = services.settings
    if relay.urls:
        services.feed.add_listener(relay)
    loops = [asyncio.create_task(move_counts(METRICS_MOVE_SECONDS))] if multiprocess_mode() else []
    return [
        *loops,
        asyncio.create_task(services.sync.run_reconciler(settings.redis.cache_reconcile_seconds)),
        asyncio.create_task(
            run_alerts(
                services.pool, services.queries, settings, services.stale_after, services.health
            )
        ),
        asyncio.create_task(
            run_notifications(services.pool, services.queries, settings.notifications, vapid_key)
        ),
        asyncio.create_task(relay.run()),
        asyncio.create_task(
            run_readiness(
                services.health,
                services.pool,
                services.queries,
                services.redis,
                settings.server.readiness_interval_seconds,
            )
        ),
        asyncio.create_task(
            sample_worker(
                lambda: services.feed.version,
                services.pool,
                services.queries,
                lambda: len(services.live.subscribers),
                settings.live.live_max_connections,
                METRICS_SAMPLE_SECONDS,
            )
        ),
    ]


def create_app(
    settings: Settings, *, stop_on_signal: bool = False, background_loops: bool = True
) -> Litestar:
    """`stop_on_signal`: the app runs in a server's worker process of its own, whose stop
    signals end the live streams at once (bedsvc/runtime/shutdown.py) and whose heap, its
    own, is settled after start-up (bedsvc/runtime/heap.py). Without
    `background_loops` (tests that run those steps themselves) the worker starts none of its
    own loops."""
    fast_path = FastPath()
    proxies = TrustedProxies(parse_networks(settings.access.trusted_proxies))
    fast_push = FastPush(proxies) if settings.ingest.push_fast_path else None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await build_services(settings)
        # The wiring record, for the lifespan's end and for tests: no route takes it.
        app.state.services = services
        app.state.rate_limits = RateLimits(services.rate_limits, settings.access)
        vapid_key = VapidKey(services.pool, services.queries, services.secret_box)
        keep_area_services(app.state, services, vapid_key)
        relay = RelayWorker(
            services.pool,
            services.queries,
            settings.relay,
            services.bed_classes,
            services.secret_box,
        )
        await check_readiness(services.health, services.pool, services.queries, services.redis)
        await services.feed.start()
        # After the worker's own state is loaded: with a small pool, a loop's first query
        # would otherwise hold the connection the start waits for.
        loops = start_background_loops(services, relay, vapid_key) if background_loops else []
        if settings.public.public_fast_path:
            fast_path.cache = services.public
        if fast_push is not None:
            fast_push.start(app.state.gate, app.state.ingest, app.state.rate_limits)
        services.live.start()
        # Not one of the background loops: the limits need it to reach Redis in time.
        rate_flush = asyncio.create_task(services.rate_limits.run())
        # A stop signal ends the event streams at once (the task is kept until shutdown).
        ending: list[asyncio.Task[None]] = []
        restore_signals = None
        if stop_on_signal:
            restore_signals = on_stop_signal(
                lambda: ending.append(asyncio.create_task(services.live.stop()))
            )
        if stop_on_signal:
            settle_heap(WORKER_YOUNG_THRESHOLD)
        log.info("worker started", version=services.feed.version)
        try:
            yield
        finally:
            if restore_signals is not None:
                restore_signals()
            fast_path.cache = None
            if fast_push is not None:
                fast_push.stop()
            await app.state.ingest.writer.stop()
            await services.live.stop()
            await services.feed.stop()
            for loop in loops:
                await cancel(loop)
            await cancel(rate_flush)
            await services.redis.aclose()
            await close_pool(services.pool)
            await close_pool(services.replica_pool)
            worker_stopped()
            log.info("worker stopped")

    configure_logging(settings.server.log_level, settings.server.log_json)
    # Rate limits are attached to the routers they limit (bedsvc/ratelimit/middleware.py);
    # pushes are counted outside them, so that refused ones count too.
    middleware: list[Middleware] = [push_metrics]
    if proxies:
        # Outermost: the rate limits and everything after see the real client.
        middleware.insert(0, ForwardedMiddleware(proxies))
    return FastPathApp(
        fast_path=fast_path,
        front_door=fast_push,
        route_handlers=[
            # Written to, or worth limiting: each request counts against its credential or
            # its client's address (bedsvc/ratelimit/middleware.py).
            Router(
                "/",
                route_handlers=[
                    IngestController,
                    AdminController,
                    AplicaresController,
                    sirs_router(settings.bridges.sirs_prefix),
                    MonitorController,
                    AuditController,
                    SessionController,
                    OccupancyCsvController,
                    UsersController,
                    NotificationsController,
                    RelayAdminController,
                    RelayMonitorController,
                    HospitalRelayController,
                ],
                middleware=[rate_limited],
            ),
            # Answered from memory, or read by many citizens behind one address: not limited.
            PublicController,
            RegistryController,
            *web_handlers(settings),
            LiveEventsController,
            live_endpoints,
            *metric_handlers(),
        ],
        dependencies={
            **{name: from_state(name) for name in STATE_DEPENDENCIES},
            "settings": Provide(lambda: settings, sync_to_thread=False),
            "actor": Provide(current_actor, sync_to_thread=False),
        },
        exception_handlers=with_bridge_envelopes(exception_handlers, settings.bridges.sirs_prefix),
        lifespan=[lifespan],
        middleware=[*middleware, prometheus_config().middleware],
        request_max_body_size=settings.ingest.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="bedsvc",
            version=__version__,
            description="Hospital bed availability for a regency or city.",
            path="/schema",
            render_plugins=[ApiReference(asset_versions())],
            openapi_router=schema_router(),
        ),
    )
