"""A live process: the WebSocket server of the live stream, following the change feed itself.

`bedsvc serve` starts `BEDSVC_LIVE_WORKERS` of them next to the HTTP workers, all listening
on the live port with SO_REUSEPORT (the kernel spreads connections among them). Each holds
what the HTTP workers hold for the same purpose, no more: a small PostgreSQL pool and a Redis
client for the feed's reloads, the feed, the public near-cache (whose per-hospital fragments
the frames splice) and the hub.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from websockets.asyncio.server import Server, serve

from bedsvc.access.proxies import TrustedProxies, parse_networks
from bedsvc.live.hub import LiveHub
from bedsvc.live.readside import build_read_side
from bedsvc.live.websocket import LiveConnection, LiveSocketServer
from bedsvc.public.nearcache import PublicCache
from bedsvc.runtime.heap import settle_heap
from bedsvc.settings import Settings
from bedsvc.state.feed import ChangeFeed
from bedsvc.store import connect_pool, load_queries
from bedsvc.store.redis import connect_redis

log = structlog.get_logger(__name__)

# A client that takes nothing takes no close frame either: how long a close waits for it.
CLOSE_TIMEOUT_SECONDS = 2.0
# Incoming messages queued per connection: clients send little (a resync now and then).
MAX_QUEUE = 4
# The library logs every connection opened and closed at INFO: thousands a minute here.
_connections_log = logging.getLogger("bedsvc.live.connections")
_connections_log.setLevel(logging.WARNING)


@dataclass(slots=True)
class LiveProcess:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    feed: ChangeFeed
    public: PublicCache
    hub: LiveHub
    server: Server | None = None

    async def stop(self) -> None:
        await self.hub.stop()
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()
        await self.feed.stop()
        await self.redis.aclose()
        await self.pool.close()


async def build_live(settings: Settings) -> LiveProcess:
    database_url, _ = settings.urls()
    queries = load_queries()
    pool = await connect_pool(database_url, 1, 2)
    client = connect_redis(settings.redis)
    reads = await build_read_side(settings, pool, queries, client)
    return LiveProcess(settings, pool, client, reads.feed, reads.public, reads.live)


async def start_live(settings: Settings, host: str, port: int) -> LiveProcess:
    """Builds a live process's services and starts serving on `host`:`port`."""
    live = await build_live(settings)
    await live.feed.start()
    live.hub.start()
    endpoint = LiveSocketServer(
        live.hub, TrustedProxies(parse_networks(settings.access.trusted_proxies))
    )
    live.server = await serve(
        endpoint.handler,
        host,
        port,
        reuse_port=True,
        process_request=endpoint.process_request,
        create_connection=LiveConnection,
        # Measured (docs/performance.md, live): per-message deflate costs more CPU and memory
        # per connection than the bytes it saves are worth here.
        compression=None,
        max_size=settings.live.live_max_message_bytes,
        max_queue=MAX_QUEUE,
        write_limit=settings.live.live_write_buffer_bytes,
        ping_interval=settings.live.live_ping_seconds,
        ping_timeout=settings.live.live_send_timeout_seconds,
        close_timeout=CLOSE_TIMEOUT_SECONDS,
        logger=_connections_log,
    )
    log.info("live process serving", host=host, port=port, version=live.feed.version)
    return live


async def run_live(settings: Settings, host: str, port: int) -> None:
    """Serves until SIGTERM or SIGINT, or until the process that started this one is gone."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    live = await start_live(settings, host, port)
    settle_heap()
    parent = os.getppid()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                if os.getppid() != parent:
                    log.warning("the serving process is gone: stopping")
                    break
    finally:
        await live.stop()
        log.info("live process stopped")
