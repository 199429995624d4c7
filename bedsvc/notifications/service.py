"""What the notification routes use, built once per worker; the VAPID key is the one the
worker's sender signs with."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bedsvc.notifications.vapid import VapidKey
from bedsvc.settings import NotificationsSettings
from bedsvc.store import Queries


@dataclass(frozen=True, slots=True)
class NotificationService:
    pool: asyncpg.Pool
    queries: Queries
    bed_class_codes: frozenset[str]
    vapid_key: VapidKey
    webpush: NotificationsSettings
