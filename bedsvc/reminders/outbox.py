"""Lapses and their reminders, decided in PostgreSQL and sent by whichever worker claims them.

Every worker runs `track` on the alert loop's schedule: one statement closes the lapses that
ended (cancelling their unsent reminders), one opens a lapse per newly stale hospital together
with its first reminders, one escalates lapses open for BEDSVC_STALE_ESCALATE_SECONDS with the
second reminders. The database decides, so one lapse gets one set of reminders however many
workers and instances look. `deliver` claims due reminders with FOR UPDATE SKIP LOCKED (as the
webhooks are claimed), sends them, and records each outcome; a failed one waits its backoff.
As with the webhooks, a worker stopped between sending and recording sends that one again
after its lease: at least once, and once in normal operation.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import httpx
import structlog

from bedsvc.ops.metrics import record_reminder
from bedsvc.reminders.mail import MailServer, SendError, mail_server, send_mail
from bedsvc.reminders.message import compose, entry_page_url
from bedsvc.reminders.telegram import bot_url, send_telegram
from bedsvc.settings import Settings
from bedsvc.store import Conn, Queries
from bedsvc.store.reminders import (
    LapseChanges,
    Reminder,
    StaleWard,
    claim_reminders,
    stale_wards,
    track_lapses,
)

log = structlog.get_logger(__name__)

_BATCH = 20


class Cancel(str):
    """Why a claimed reminder is not sent at all."""


async def track(
    pool: asyncpg.Pool, queries: Queries, settings: Settings, stale_after: timedelta
) -> LapseChanges:
    escalate_after = timedelta(seconds=settings.monitor.stale_escalate_seconds)
    async with pool.acquire() as conn:
        changes = await track_lapses(conn, queries, stale_after, escalate_after)
    if changes.opened or changes.closed or changes.escalated:
        log.info(
            "stale lapses",
            opened=changes.opened,
            closed=changes.closed,
            escalated=changes.escalated,
        )
    return changes


def _lease(settings: Settings) -> float:
    return (
        max(settings.reminders.smtp_timeout_seconds, settings.monitor.alert_webhook_timeout_seconds)
        + 5
    )


async def _send(
    settings: Settings,
    client: httpx.AsyncClient,
    server: MailServer | None,
    bot: str | None,
    reminder: Reminder,
    wards: list[StaleWard],
) -> SendError | Cancel | None:
    if not reminder.lapse_open:
        return Cancel("lapse ended")
    if not reminder.still_listed:
        return Cancel("recipient no longer listed")
    text = compose(
        reminder,
        wards,
        entry_page_url(settings),
        settings.server.timezone,
        settings.monitor.stale_escalate_seconds,
    )
    if reminder.channel == "email":
        if server is None:
            return Cancel("BEDSVC_SMTP_URL is unset")
        return await send_mail(server, reminder.recipient, text, reminder.id)
    if bot is None:
        return Cancel("BEDSVC_TELEGRAM_BOT_TOKEN is unset")
    return await send_telegram(client, bot, reminder.recipient, text.plain)


async def deliver(
    pool: asyncpg.Pool,
    queries: Queries,
    settings: Settings,
    client: httpx.AsyncClient,
    stale_after: timedelta,
) -> int:
    """Makes one attempt at each due reminder no other worker holds; returns how many."""
    async with pool.acquire() as conn:
        claimed = await claim_reminders(conn, queries, _BATCH, _lease(settings))
        if not claimed:
            return 0
        wards = {
            code: await stale_wards(conn, queries, code, stale_after)
            for code in sorted({r.hospital_code for r in claimed})
        }
    server, bot = mail_server(settings.reminders), bot_url(settings.reminders)
    outcomes = await asyncio.gather(
        *(_send(settings, client, server, bot, r, wards[r.hospital_code]) for r in claimed)
    )
    async with pool.acquire() as conn:
        for reminder, outcome in zip(claimed, outcomes, strict=True):
            await _record(conn, queries, settings, reminder, outcome)
    return len(claimed)


async def _record(
    conn: Conn,
    queries: Queries,
    settings: Settings,
    reminder: Reminder,
    outcome: SendError | Cancel | None,
) -> None:
    fields = {
        "reminder_id": reminder.id,
        "hospital_code": reminder.hospital_code,
        "channel": reminder.channel,
        "kind": reminder.kind,
        "attempt": reminder.attempts,
    }
    if outcome is None:
        await queries.reminder_sent(conn, id=reminder.id)
        record_reminder(reminder.channel, "sent")
        log.info("reminder sent", **fields)
        return
    if isinstance(outcome, Cancel):
        await queries.reminder_cancelled(conn, id=reminder.id, reason=str(outcome))
        record_reminder(reminder.channel, "cancelled")
        log.info("reminder cancelled", reason=str(outcome), **fields)
        return
    last = outcome.permanent or reminder.attempts >= settings.reminders.reminder_max_attempts
    await queries.reminder_failed(
        conn,
        id=reminder.id,
        error=outcome.error,
        max_attempts=reminder.attempts
        if outcome.permanent
        else settings.reminders.reminder_max_attempts,
        backoff=settings.reminders.reminder_backoff_seconds,
        backoff_max=settings.reminders.reminder_backoff_max_seconds,
    )
    record_reminder(reminder.channel, "failed" if last else "retry")
    log.warning("reminder failed", error=outcome.error, given_up=last, **fields)
