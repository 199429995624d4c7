"""Every resource a worker holds, built in the app's lifespan: the record the lifespan wires
the worker from (the per-area objects the guards and routes take, the background loops) and
closes at its end. No route takes it: each takes its area's object (bedsvc/app.py
`keep_area_services`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import redis.asyncio as aioredis

from bedsvc.access.keys import KeyCache
from bedsvc.access.throttle import SignInThrottle
from bedsvc.live.hub import LiveHub
from bedsvc.ops.health import Health
from bedsvc.public.nearcache import PublicCache
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.secret_box import SecretBox
from bedsvc.settings import Settings
from bedsvc.state.cache import AvailabilityCache
from bedsvc.state.feed import ChangeFeed
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries
from bedsvc.store.reference import BedClass


@dataclass(slots=True)
class Services:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    queries: Queries
    cache: AvailabilityCache
    sync: CacheSync
    bed_classes: list[BedClass]
    feed: ChangeFeed
    secret_box: SecretBox
    public: PublicCache
    live: LiveHub
    keys: KeyCache
    throttle: SignInThrottle
    health: Health
    rate_limits: RateCounter
    # The monitor's history and exports: a small pool of their own, on the streaming replica
    # when one is set.
    replica_pool: asyncpg.Pool

    @property
    def bed_class_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.bed_classes)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.settings.ingest.stale_after_seconds)
