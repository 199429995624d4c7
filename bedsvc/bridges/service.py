"""What the bridges' guards and routes use, built once per worker in the app's lifespan.

Guards run before dependencies are resolved, so the guards read it from the app's state
(`bridges_of`, as the native guards read their `Gate`); the routes take it as their `bridges`
dependency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar.connection import ASGIConnection

from bedsvc.access.throttle import SignInThrottle
from bedsvc.secret_box import SecretBox
from bedsvc.settings import Settings
from bedsvc.state.sync import CacheSync
from bedsvc.store import Queries
from bedsvc.store.reference import BedClass


@dataclass(frozen=True, slots=True)
class BridgeService:
    """The write path's pieces (a bridge writes as the native push does), the bed classes
    the bridges' codes map to, and what their sign-ins check: the throttle and the key that
    keeps their credentials."""

    pool: asyncpg.Pool
    queries: Queries
    sync: CacheSync
    settings: Settings
    bed_classes: list[BedClass]
    bed_class_codes: frozenset[str]
    throttle: SignInThrottle
    secret_box: SecretBox


def bridges_of(connection: ASGIConnection[Any, Any, Any, Any]) -> BridgeService:
    bridges: BridgeService = connection.app.state.bridges
    return bridges
