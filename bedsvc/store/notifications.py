"""Notify-when-free subscriptions and the VAPID key, as PostgreSQL keeps them.

The decision that a subscription is due is PostgreSQL's (the trigger of
sql/migrations/009_notifications.sql, in the transaction of the change); these functions
make, claim and close subscriptions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import asyncpg
import msgspec

from bedsvc.store.db import Conn
from bedsvc.store.queries import Queries


class StoredVapidKey(msgspec.Struct, frozen=True):
    public_key: str
    private_key_encrypted: bytes


class NewSubscription(msgspec.Struct, frozen=True):
    endpoint: str
    p256dh: str
    auth: str
    bed_class: str
    hospital_code: str | None
    region_code: str | None
    client_address: str


class Refusal(Enum):
    NOTHING_WATCHED = "nothing_watched"
    ALREADY_FREE = "already_free"
    TOO_MANY = "too_many"


class Subscribed(msgspec.Struct, frozen=True):
    expires_at: datetime


class DueNotification(msgspec.Struct, frozen=True):
    id: int
    endpoint: str
    p256dh: str
    auth: str
    bed_class: str
    class_name: str
    hospital_code: str
    hospital_name: str
    available: int
    attempts: int


async def load_vapid_key(conn: Conn, queries: Queries) -> StoredVapidKey | None:
    row = await queries.vapid_key(conn)
    if row is None:
        return None
    return StoredVapidKey(row.public_key, bytes(row.private_key_encrypted))


async def add_vapid_key(conn: Conn, queries: Queries, key: StoredVapidKey) -> StoredVapidKey:
    """Stores `key` unless a key is stored already; the stored one."""
    await queries.add_vapid_key(
        conn, public_key=key.public_key, private_key_encrypted=key.private_key_encrypted
    )
    stored = await load_vapid_key(conn, queries)
    assert stored is not None  # noqa: S101 - inserted or already there
    return stored


async def subscribe(
    pool: asyncpg.Pool,
    queries: Queries,
    new: NewSubscription,
    *,
    max_per_address: int,
    lifetime_seconds: int,
) -> Subscribed | Refusal:
    """Stores a subscription while its class is full everywhere it watches, in one
    transaction under the watched hospitals' row locks."""
    async with pool.acquire() as conn, conn.transaction():
        watched = [
            row.code
            async for row in queries.lock_watched_hospitals(
                conn, hospital_code=new.hospital_code, region_code=new.region_code
            )
        ]
        if not watched:
            return Refusal.NOTHING_WATCHED
        free = await queries.watched_free_beds(
            conn,
            hospital_code=new.hospital_code,
            region_code=new.region_code,
            bed_class=new.bed_class,
        )
        if free > 0:
            return Refusal.ALREADY_FREE
        await queries.lock_address(conn, client_address=new.client_address)
        waiting = await queries.waiting_for_address(conn, client_address=new.client_address)
        if waiting >= max_per_address:
            return Refusal.TOO_MANY
        row = await queries.subscribe(
            conn,
            endpoint=new.endpoint,
            p256dh=new.p256dh,
            auth=new.auth,
            hospital_code=new.hospital_code,
            region_code=new.region_code,
            bed_class=new.bed_class,
            client_address=new.client_address,
            lifetime=float(lifetime_seconds),
        )
        if row is None:
            # The same subscription is being sent right now: it answers what was asked.
            return Subscribed(expires_at=datetime.now(UTC))
        return Subscribed(expires_at=row.expires_at)


async def unsubscribe(pool: asyncpg.Pool, queries: Queries, endpoint: str) -> int:
    async with pool.acquire() as conn:
        removed: int = await queries.unsubscribe(conn, endpoint=endpoint)
    return removed


async def claim_due(
    pool: asyncpg.Pool, queries: Queries, batch: int, lease: float
) -> list[DueNotification]:
    async with pool.acquire() as conn:
        return [
            DueNotification(
                id=row.id,
                endpoint=row.endpoint,
                p256dh=row.p256dh,
                auth=row.auth,
                bed_class=row.bed_class,
                class_name=row.class_name,
                hospital_code=row.hospital_code,
                hospital_name=row.hospital_name,
                available=row.available,
                attempts=row.attempts,
            )
            async for row in queries.claim_notifications(conn, batch=batch, lease=lease)
        ]


async def drop(pool: asyncpg.Pool, queries: Queries, subscription_id: int) -> None:
    async with pool.acquire() as conn:
        await queries.drop_subscription(conn, id=subscription_id)


async def failed(
    pool: asyncpg.Pool,
    queries: Queries,
    subscription_id: int,
    error: str,
    *,
    max_attempts: int,
    backoff: float,
    backoff_max: float,
) -> None:
    async with pool.acquire() as conn:
        await queries.notification_failed(
            conn,
            id=subscription_id,
            error=error,
            max_attempts=max_attempts,
            backoff=backoff,
            backoff_max=backoff_max,
        )


async def expire(pool: asyncpg.Pool, queries: Queries) -> int:
    async with pool.acquire() as conn:
        expired: int = await queries.expire_subscriptions(conn)
    return expired
