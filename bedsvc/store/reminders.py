"""Stale reminders as PostgreSQL holds them: lapses, the outbox, what a message lists."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from bedsvc.store.db import Conn
from bedsvc.store.queries import (
    EscalatedLapsesRow,
    Queries,
    ReminderContactsRow,
    StaleWardsRow,
)


class Reminder(msgspec.Struct, frozen=True):
    """A claimed reminder, with the lapse and hospital it is about."""

    id: int
    kind: Literal["first", "escalation"]
    channel: Literal["email", "telegram"]
    recipient: str
    attempts: int
    since: datetime
    opened_at: datetime
    lapse_open: bool
    hospital_code: str
    hospital_name: str
    region_code: str
    still_listed: bool


# The rows as the queries give them (bedsvc/store/queries.py), under the names the reminders
# and alerts speak of.
StaleWard = StaleWardsRow
EscalatedLapse = EscalatedLapsesRow
Contacts = ReminderContactsRow


class LapseChanges(msgspec.Struct, frozen=True):
    closed: int
    opened: int
    escalated: int


async def track_lapses(
    conn: Conn, queries: Queries, stale_after: timedelta, escalate_after: timedelta
) -> LapseChanges:
    """Ends the lapses that ended, then opens and escalates, each with its reminders."""
    closed = await queries.close_lapses(conn, stale_after=stale_after)
    opened = await queries.open_lapses(conn, stale_after=stale_after)
    escalated = await queries.escalate_lapses(conn, escalate_after=escalate_after)
    return LapseChanges(closed=closed, opened=opened, escalated=escalated)


async def claim_reminders(conn: Conn, queries: Queries, batch: int, lease: float) -> list[Reminder]:
    return [
        msgspec.convert(row, Reminder, from_attributes=True)
        async for row in queries.claim_reminders(conn, batch=batch, lease=lease)
    ]


async def stale_wards(
    conn: Conn, queries: Queries, code: str, stale_after: timedelta
) -> list[StaleWard]:
    return [row async for row in queries.stale_wards(conn, code=code, stale_after=stale_after)]


async def escalated_lapses(conn: Conn, queries: Queries) -> list[EscalatedLapse]:
    return [row async for row in queries.escalated_lapses(conn)]


async def reminder_contacts(conn: Conn, queries: Queries, code: str) -> Contacts | None:
    return await queries.reminder_contacts(conn, code=code)
