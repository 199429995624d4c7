"""Alert rules, evaluated in every worker, each transition recorded and delivered once.

A rule's condition holding for a subject opens an alert (fired); the condition clearing
closes it (resolved). The database decides who records a transition: one open alert per rule
and subject (a partial unique index), and a resolve that only one caller's UPDATE matches. The
transition and its webhook deliveries are written in one transaction; deliveries are then
claimed with FOR UPDATE SKIP LOCKED by whichever worker polls first, and retried with a
bounded exponential backoff. Receivers may still see a delivery twice (a worker stopped
between the POST and recording it): (alert.id, event) identifies a transition.

Each delivery is signed (see `sign` and "Alerts" in docs/api.md): a receiver checks the
signature over the timestamp and the raw body with its URL's secret, and refuses old
timestamps, so that nobody else can post alerts to it or replay old ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

import asyncpg
import httpx
import msgspec
import structlog
from prometheus_client import Counter

from bedsvc.local_time import local_time
from bedsvc.monitor.schemas import Alert, AlertEvent, AlertListed, AlertRule
from bedsvc.ops.health import Health
from bedsvc.relay.alerting import relay_failures
from bedsvc.reminders import outbox as reminders
from bedsvc.reminders.message import duration, entry_page_url
from bedsvc.runtime.outbound import outbound_client
from bedsvc.secret_box import SecretBox, load_secret_box
from bedsvc.settings import Settings
from bedsvc.store import Conn, Queries
from bedsvc.store.conditions import (
    alerts_due_to_resolve,
    conditions_due,
    forget_conditions,
    observe_conditions,
)
from bedsvc.store.queries import ClaimDeliveriesRow
from bedsvc.store.reminders import EscalatedLapse, escalated_lapses

log = structlog.get_logger(__name__)

_encoder = msgspec.json.Encoder()

# A failing cycle means no alert fires: it must show on a dashboard, not only in a log line.
cycle_failures = Counter(
    "bedsvc_alert_cycle_failures",
    "Alert evaluation or delivery cycles that failed (no alert fired in them).",
)

SIGNATURE_HEADER = "X-Bedsvc-Signature"
TIMESTAMP_HEADER = "X-Bedsvc-Timestamp"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`v1=` + hex HMAC-SHA256 under the URL's secret of `<timestamp>.<raw body>`."""
    message = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Condition:
    rule: str
    subject: str
    message: str
    region_code: str | None = None
    hospital_code: str | None = None
    bed_class: str | None = None
    # The hospital's own receiver, besides the health office's (BEDSVC_ALERT_WEBHOOK_URLS).
    hospital_webhook: str | None = None


@dataclass(frozen=True, slots=True)
class Transitions:
    fired: list[int]
    resolved: list[int]


def _region(code: str, name: str | None) -> str:
    return f"{name} ({code})" if name else code


# Rules whose subject is a hospital: its own receiver hears of them too.
_HOSPITAL_RULES = frozenset({"hospital_stale", "hospital_stale_escalated"})


async def current_conditions(
    conn: Conn, queries: Queries, settings: Settings, stale_after: timedelta
) -> list[Condition]:
    """Every rule's conditions holding now, with a message in Bahasa Indonesia for the health
    office (times in the region's local time)."""
    now = datetime.now(UTC)
    zone = settings.server.timezone
    conditions = []
    if "class_exhausted" in settings.monitor.alert_rules:
        async for row in queries.exhausted_classes(
            conn, bed_classes=settings.monitor.alert_bed_classes
        ):
            region, bed_class = row.region_code, row.bed_class
            conditions.append(
                Condition(
                    rule="class_exhausted",
                    subject=f"{region}/{bed_class}",
                    message=f"Tempat tidur {row.class_name} di "
                    f"{_region(region, row.region_name)} penuh per "
                    f"{local_time(now, region, zone)}: {row.capacity} tempat tidur, "
                    "tidak ada yang kosong.",
                    region_code=region,
                    bed_class=bed_class,
                )
            )
    if "hospital_stale" in settings.monitor.alert_rules:
        async for silent in queries.silent_hospitals(conn, older_than=stale_after):
            last = silent.last_report_at
            region = silent.region_code
            since = f"sejak {local_time(last, region, zone)}" if last else "sama sekali"
            conditions.append(
                Condition(
                    rule="hospital_stale",
                    subject=silent.code,
                    message=f"{silent.name} ({silent.code}) belum melapor {since}. "
                    f"Petugas ruangan dapat melapor di {entry_page_url(settings)}",
                    region_code=region,
                    hospital_code=silent.code,
                    hospital_webhook=silent.alert_webhook_url,
                )
            )
    if "relay_failing" in settings.monitor.alert_rules:
        conditions += await failing_relays(conn, queries, settings)
    if "hospital_stale_escalated" in settings.monitor.alert_rules:
        lapses = await escalated_lapses(conn, queries)
        conditions.extend(_escalated(lapse, settings) for lapse in lapses)
    return conditions


def _escalated(lapse: EscalatedLapse, settings: Settings) -> Condition:
    zone = settings.server.timezone
    reminded = (
        f"pengingat kedua dikirim ke {lapse.contacts} alamat surel/obrolan Telegram rumah "
        f"sakit pada {local_time(lapse.escalated_at, lapse.region_code, zone)}"
        if lapse.contacts
        else "rumah sakit ini tidak punya alamat pengingat terdaftar (reminder_emails, "
        "telegram_chat_ids)"
    )
    return Condition(
        rule="hospital_stale_escalated",
        subject=lapse.code,
        message=f"{lapse.name} ({lapse.code}) masih belum melapor sejak "
        f"{local_time(lapse.since, lapse.region_code, zone)}, lebih dari "
        f"{duration(settings.monitor.stale_escalate_seconds)} setelah pengingat pertama; "
        f"{reminded}.",
        region_code=lapse.region_code,
        hospital_code=lapse.code,
    )


async def failing_relays(conn: Conn, queries: Queries, settings: Settings) -> list[Condition]:
    return [
        Condition(
            rule="relay_failing",
            subject=failure.subject,
            message=failure.message,
            region_code=failure.region_code,
            hospital_code=failure.hospital_code,
        )
        for failure in await relay_failures(conn, queries, settings.relay)
    ]


async def evaluate(
    pool: asyncpg.Pool, queries: Queries, settings: Settings, stale_after: timedelta
) -> Transitions:
    """Records the transitions since the last evaluation (by any worker) and their deliveries.

    Hysteresis: a condition fires its rule once it has held for BEDSVC_ALERT_HOLD_SECONDS and
    resolves it once it has been clear that long (alert_conditions remembers since when, for
    every worker), so a flapping condition makes one alert, not one per flap. Nothing here
    knows a rule by name except the receivers of hospital rules: a new rule only adds its
    conditions to `current_conditions`."""
    rules: list[str] = list(settings.monitor.alert_rules)
    urls = list(settings.monitor.alert_webhook_urls)
    hold = timedelta(seconds=settings.monitor.alert_hold_seconds)
    fired: list[int] = []
    resolved: list[int] = []
    async with pool.acquire() as conn:
        conditions = await current_conditions(conn, queries, settings, stale_after)
        await observe_conditions(conn, queries, rules, ((c.rule, c.subject) for c in conditions))
        due = await conditions_due(conn, queries, rules, hold)
        for condition in conditions:
            if (condition.rule, condition.subject) not in due:
                continue
            async with conn.transaction():
                alert_id = await queries.fire_alert(
                    conn,
                    rule=condition.rule,
                    subject=condition.subject,
                    region_code=condition.region_code,
                    hospital_code=condition.hospital_code,
                    bed_class=condition.bed_class,
                    message=condition.message,
                )
                if alert_id is not None:
                    own = [condition.hospital_webhook] if condition.hospital_webhook else []
                    if not own and condition.rule in _HOSPITAL_RULES:
                        own = await _hospital_receivers(
                            conn, queries, condition.rule, condition.subject
                        )
                    receivers = urls + own
                    await queries.add_deliveries(
                        conn, alert_id=alert_id, event="fired", urls=receivers
                    )
                    fired.append(alert_id)
        for rule, subject in await alerts_due_to_resolve(conn, queries, rules, hold):
            async with conn.transaction():
                alert_id = await queries.resolve_alert(conn, rule=rule, subject=subject)
                if alert_id is not None:
                    receivers = urls + await _hospital_receivers(conn, queries, rule, subject)
                    await queries.add_deliveries(
                        conn, alert_id=alert_id, event="resolved", urls=receivers
                    )
                    resolved.append(alert_id)
        await forget_conditions(conn, queries, hold)
    for alert_id in fired:
        log.info("alert fired", alert_id=alert_id)
    for alert_id in resolved:
        log.info("alert resolved", alert_id=alert_id)
    return Transitions(fired=fired, resolved=resolved)


async def _hospital_receivers(conn: Conn, queries: Queries, rule: str, subject: str) -> list[str]:
    if rule not in _HOSPITAL_RULES:
        return []
    url = await queries.hospital_alert_webhook(conn, code=subject)
    return [url] if url else []


def _alert(row: ClaimDeliveriesRow) -> Alert:
    return Alert(
        id=row.alert_id,
        # Stored by fire_alert from the rules this module names.
        rule=cast(AlertRule, row.rule),
        subject=row.subject,
        region_code=row.region_code,
        hospital_code=row.hospital_code,
        bed_class=row.bed_class,
        message=row.message,
        fired_at=row.fired_at,
        resolved_at=row.resolved_at if row.event == "resolved" else None,
    )


def hospital_webhook_secret(box: SecretBox, hospital_code: str) -> bytes:
    """The signing secret of a hospital's own webhook (`bedsvc hospitals webhook-secret`):
    derived from BEDSVC_SECRET_KEY, so nothing more is stored."""
    return box.mac_keys(f"hospital-webhook:{hospital_code}")[0].hex().encode()


def _secret(settings: Settings, row: ClaimDeliveriesRow) -> bytes | None:
    """The secret of a delivery's URL, or None when the URL is no longer configured: neither
    a health-office URL in the settings nor the hospital's registered one (and `https://`
    unless plain http is allowed, as for the settings' URLs)."""
    url = row.url
    if url in settings.monitor.alert_webhook_urls:
        return settings.monitor.webhook_secret(url)
    hospital = row.hospital_code
    own = hospital is not None and url == row.hospital_webhook_url
    if (
        hospital is not None
        and own
        and (url.startswith("https://") or settings.monitor.alert_webhook_allow_http)
    ):
        return hospital_webhook_secret(load_secret_box(settings), hospital)
    return None


async def _post(
    client: httpx.AsyncClient, settings: Settings, row: ClaimDeliveriesRow
) -> str | None:
    """POSTs one delivery; the error text, or None when the receiver took it (2xx).

    The error text is stored and logged, so it names the failure only: an exception's text may
    hold the URL, and a webhook URL often carries a token in its path or query."""
    secret = _secret(settings, row)
    if secret is None:
        return "URL no longer configured"
    body = _encoder.encode(
        AlertEvent(
            event=cast(Literal["fired", "resolved"], row.event),
            alert=_alert(row),
            attempt=row.attempts,
            sent_at=datetime.now(UTC),
        )
    )
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        response = await client.post(row.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if response.is_success:
        return None
    return f"HTTP {response.status_code}"


async def deliver_due(
    pool: asyncpg.Pool, queries: Queries, settings: Settings, client: httpx.AsyncClient
) -> int:
    """Makes one attempt at each due delivery no other worker holds; returns how many."""
    async with pool.acquire() as conn:
        claimed = [
            row
            async for row in queries.claim_deliveries(
                conn,
                batch=20,
                lease=settings.monitor.alert_webhook_timeout_seconds + 5,
            )
        ]
    if not claimed:
        return 0
    errors = await asyncio.gather(*(_post(client, settings, row) for row in claimed))
    async with pool.acquire() as conn:
        for row, error in zip(claimed, errors, strict=True):
            if error is None:
                await queries.delivery_succeeded(conn, id=row.id)
                continue
            log.warning(
                "alert webhook failed", delivery_id=row.id, attempt=row.attempts, error=error
            )
            await queries.delivery_failed(
                conn,
                id=row.id,
                error=error,
                max_attempts=settings.monitor.alert_webhook_max_attempts,
                backoff=settings.monitor.alert_webhook_backoff_seconds,
                backoff_max=settings.monitor.alert_webhook_backoff_max_seconds,
            )
    return len(claimed)


async def list_alerts(
    pool: asyncpg.Pool, queries: Queries, open_only: bool, limit: int
) -> list[AlertListed]:
    async with pool.acquire() as conn:
        rows = [r async for r in queries.list_alerts(conn, open_only=open_only, max_rows=limit)]
    return [msgspec.convert(row, AlertListed, from_attributes=True) for row in rows]


# Delivery is polled more often than rules are evaluated, so retries follow their backoff.
_DELIVERY_POLL_SECONDS = 1.0


async def run_alerts(
    pool: asyncpg.Pool,
    queries: Queries,
    settings: Settings,
    stale_after: timedelta,
    health: Health,
) -> None:
    """The worker's background task: track stale lapses, evaluate the rules, deliver the
    webhooks and reminders that are due, repeat."""
    timeout = httpx.Timeout(settings.monitor.alert_webhook_timeout_seconds)
    async with outbound_client(timeout) as client:
        next_evaluation = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() >= next_evaluation:
                    next_evaluation = loop.time() + settings.monitor.alert_interval_seconds
                    # Lapses first: the escalation rule sees this round's escalations.
                    await reminders.track(pool, queries, settings, stale_after)
                    await evaluate(pool, queries, settings, stale_after)
                await deliver_due(pool, queries, settings, client)
                await reminders.deliver(pool, queries, settings, client, stale_after)
            # The loop must outlive any one failure, whatever it is, and say so loudly: a
            # silent failure here means no alert ever fires.
            except Exception as exc:
                cycle_failures.inc()
                health.alerts_failed(type(exc).__name__)
                log.error("alert cycle failed", error=type(exc).__name__, exc_info=exc)
            else:
                health.alerts_evaluated()
            await asyncio.sleep(
                min(_DELIVERY_POLL_SECONDS, settings.monitor.alert_interval_seconds)
            )
