"""Sends the notifications PostgreSQL found due: one push per subscription, then it ends.

A change that frees a bed marks the waiting subscriptions due in its own transaction (the
trigger of migration 009). Every worker polls for due ones and claims them with FOR UPDATE
SKIP LOCKED for a lease, so exactly one worker of any instance sends each; a failure is
retried with a doubling backoff, and a 404 or 410 from the push service (the browser dropped
the subscription) ends it at once. The payload is encrypted for the browser (RFC 8291,
aes128gcm) and the request signed with the service's VAPID key (RFC 8292), by pywebpush and
py_vapid; httpx sends it, without following redirects.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec
import structlog
from prometheus_client import Counter

from bedsvc.notifications.endpoints import endpoint_problem
from bedsvc.notifications.schemas import PushMessage
from bedsvc.notifications.vapid import VapidKey
from bedsvc.runtime.outbound import outbound_client
from bedsvc.runtime.tasks import raise_if_cancelled
from bedsvc.settings import NotificationsSettings
from bedsvc.store import Queries
from bedsvc.store import notifications as store

log = structlog.get_logger(__name__)

_encoder = msgspec.json.Encoder()

pushes = Counter(
    "bedsvc_webpush_sent",
    "Notify-when-free pushes by outcome: sent, gone (the browser unsubscribed), failed.",
    ["outcome"],
)
cycle_failures = Counter(
    "bedsvc_webpush_cycle_failures",
    "Notification cycles that failed (no notification was sent in them).",
)

_POLL_SECONDS = 0.5
_EXPIRE_EVERY_SECONDS = 60.0
_BACKOFF_MAX_SECONDS = 300.0
_BATCH = 20
# The push service's answers that mean the subscription is gone for good (RFC 8030 §7.3).
_GONE = (404, 410)


def message(due: store.DueNotification) -> PushMessage:
    return PushMessage(
        title=f"Tempat tidur {due.class_name} kosong",
        body=f"{due.hospital_name}: {due.available} tempat tidur {due.class_name} kosong. "
        "Hubungi rumah sakit sebelum datang.",
        hospital_code=due.hospital_code,
        bed_class=due.bed_class,
        available=due.available,
        url=f"/?hospital={due.hospital_code}&bed_class={due.bed_class}",
    )


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


async def send(
    client: httpx.AsyncClient,
    vapid: VapidKey,
    webpush: NotificationsSettings,
    due: store.DueNotification,
) -> int | str:
    """One push: the push service's status, or why none was sent."""
    problem = endpoint_problem(due.endpoint, webpush)
    if problem is not None:
        return f"endpoint {problem}"
    # Imported at the first push: pywebpush loads aiohttp and requests, about 0.2 s of CPU
    # that every worker (and `bedsvc serve`'s every start) would pay whether or not a
    # citizen ever subscribes.
    from pywebpush import WebPusher

    subscription = {"endpoint": due.endpoint, "keys": {"p256dh": due.p256dh, "auth": due.auth}}
    body = WebPusher(subscription).encode(_encoder.encode(message(due)), "aes128gcm")["body"]
    signer = await vapid.signer()
    claims = {
        "sub": webpush.webpush_subject,
        "aud": _origin(due.endpoint),
        "exp": int(time.time()) + 12 * 3600,
    }
    headers = signer.sign(claims) | {
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "TTL": str(webpush.webpush_ttl_seconds),
        "Urgency": "high",
    }
    try:
        response = await client.post(due.endpoint, content=body, headers=headers)
    except httpx.HTTPError as exc:
        # The exception's text may hold the endpoint, which identifies a browser.
        return type(exc).__name__
    return response.status_code


async def deliver_due(
    pool: asyncpg.Pool,
    queries: Queries,
    webpush: NotificationsSettings,
    vapid: VapidKey,
    client: httpx.AsyncClient,
) -> int:
    """One attempt at each due notification no other worker holds; how many."""
    lease = webpush.webpush_timeout_seconds + 5
    claimed = await store.claim_due(pool, queries, _BATCH, lease)
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(send(client, vapid, webpush, due) for due in claimed))
    for due, outcome in zip(claimed, outcomes, strict=True):
        if isinstance(outcome, int) and 200 <= outcome < 300:
            pushes.labels("sent").inc()
            log.info("notification sent", subscription=due.id, hospital=due.hospital_code)
            await store.drop(pool, queries, due.id)
        elif outcome in _GONE:
            pushes.labels("gone").inc()
            await store.drop(pool, queries, due.id)
        else:
            pushes.labels("failed").inc()
            error = f"HTTP {outcome}" if isinstance(outcome, int) else outcome
            log.warning(
                "notification failed", subscription=due.id, attempt=due.attempts, error=error
            )
            await store.failed(
                pool,
                queries,
                due.id,
                error,
                max_attempts=webpush.webpush_max_attempts,
                backoff=webpush.webpush_backoff_seconds,
                backoff_max=_BACKOFF_MAX_SECONDS,
            )
    return len(claimed)


async def run_notifications(
    pool: asyncpg.Pool, queries: Queries, webpush: NotificationsSettings, vapid: VapidKey
) -> None:
    """The worker's background task: send what is due, drop what expired, repeat."""
    timeout = httpx.Timeout(webpush.webpush_timeout_seconds)
    loop = asyncio.get_running_loop()
    next_expiry = 0.0
    async with outbound_client(timeout) as client:
        while True:
            try:
                # Made at the first start (by the first worker): every worker then uses it.
                await vapid.public_key()
                await deliver_due(pool, queries, webpush, vapid, client)
                if loop.time() >= next_expiry:
                    next_expiry = loop.time() + _EXPIRE_EVERY_SECONDS
                    await store.expire(pool, queries)
            # The loop must outlive any one failure (the database restarting, a key that does
            # not decrypt) and say so: a silent failure here means no citizen is notified.
            except Exception as exc:
                raise_if_cancelled()
                cycle_failures.inc()
                log.error("notification cycle failed", error=type(exc).__name__, exc_info=exc)
            await asyncio.sleep(_POLL_SECONDS)
