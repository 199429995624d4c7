"""`GET /api/v1/monitor/audit`: who (API key or ward-staff user) changed what, and when.

Ward changes come from the occupancy history (each with the ward's previous state, so the
trail reads "from 3 to 5"); registry edits, key, credential and user changes from
`audit_events`. Both are merged newest first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from msgspec import Meta

from bedsvc.access.guards import monitor_key_guard
from bedsvc.errors import invalid
from bedsvc.monitor.params import DEFAULT_RANGE, MAX_RANGE, parse_time
from bedsvc.monitor.service import MonitorService
from bedsvc.problems import problem_responses
from bedsvc.store import Queries
from bedsvc.store.queries import AuditChangesRow, AuditEventsRow


class WardCounts(msgspec.Struct, frozen=True):
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None


class AuditEntry(msgspec.Struct, frozen=True):
    at: Annotated[datetime, Meta(description="When bedsvc received or recorded the change")]
    action: Annotated[
        str,
        Meta(
            description="report, close (a ward); hospital.save; key.issue, key.revoke; "
            "aplicares.issue, aplicares.revoke, sirs.issue, sirs.revoke; user.add, user.disable"
        ),
    ]
    key_id: Annotated[str | None, Meta(description="The API key that made it, if any")]
    username: Annotated[str | None, Meta(description="The ward-staff user, if any")]
    hospital_code: str | None
    subject: Annotated[str, Meta(description="The ward code, hospital code, key id or username")]
    ward_code: str | None = None
    bed_class: str | None = None
    reported_at: Annotated[
        datetime | None, Meta(description="The hospital's time of the report")
    ] = None
    before: Annotated[
        WardCounts | None, Meta(description="The ward before the change; null: new or reopened")
    ] = None
    after: Annotated[WardCounts | None, Meta(description="The ward after; null: closed")] = None
    detail: dict[str, Any] = {}


class AuditTrail(msgspec.Struct, frozen=True):
    since: datetime
    until: datetime
    entries: list[AuditEntry]


def _after(row: AuditChangesRow) -> WardCounts:
    return WardCounts(
        capacity=row.capacity,
        available=row.available,
        available_male=row.available_male,
        available_female=row.available_female,
        waiting=row.waiting,
    )


def _before(row: AuditChangesRow) -> WardCounts | None:
    """The ward as its previous report left it; None when there was none."""
    if row.before_change != "report" or row.before_capacity is None:
        return None
    if row.before_available is None:
        return None
    return WardCounts(
        capacity=row.before_capacity,
        available=row.before_available,
        available_male=row.before_available_male,
        available_female=row.before_available_female,
        waiting=row.before_waiting,
    )


def _change(row: AuditChangesRow) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        action=row.change,
        key_id=row.key_id,
        username=row.username,
        hospital_code=row.hospital_code,
        subject=row.ward_code,
        ward_code=row.ward_code,
        bed_class=row.bed_class,
        reported_at=row.reported_at,
        before=_before(row),
        after=_after(row) if row.change == "report" else None,
    )


def _event(row: AuditEventsRow) -> AuditEntry:
    return AuditEntry(
        at=row.at,
        action=row.action,
        key_id=row.key_id,
        username=row.username,
        hospital_code=row.hospital_code,
        subject=row.subject,
        detail=row.detail,
    )


async def audit_trail(
    pool: asyncpg.Pool,
    queries: Queries,
    hospital: str | None,
    since: datetime,
    until: datetime,
    limit: int,
) -> AuditTrail:
    args = {"hospital_code": hospital, "since": since, "until": until, "max_rows": limit}
    async with pool.acquire() as conn:
        changes = [_change(row) async for row in queries.audit_changes(conn, **args)]
        events = [_event(row) async for row in queries.audit_events(conn, **args)]
    entries = sorted(changes + events, key=lambda entry: entry.at, reverse=True)[:limit]
    return AuditTrail(since=since, until=until, entries=entries)


class AuditController(Controller):
    path = "/api/v1/monitor"
    tags = ["health office"]
    guards = [monitor_key_guard]

    @get(
        "/audit",
        summary="Who (key or user) changed what, when",
        responses=problem_responses(401, 403, 422, 429, 503),
    )
    async def audit(
        self,
        monitor: NamedDependency[MonitorService],
        hospital: Annotated[str | None, QueryParameter(max_length=32)] = None,
        start: Annotated[
            str | None, QueryParameter(name="from", description="ISO 8601; default: 24 h ago")
        ] = None,
        stop: Annotated[
            str | None, QueryParameter(name="to", description="ISO 8601; default: now")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> AuditTrail:
        """Newest first: ward reports and closings with the ward's counts before and after,
        and registry, key and user changes. A change by a ward-staff user names the user; one
        through the API names its key."""
        until = parse_time("to", stop) if stop else datetime.now(UTC)
        since = parse_time("from", start) if start else until - DEFAULT_RANGE
        if since >= until:
            raise invalid("from", "must lie before 'to'")
        if until - since > MAX_RANGE:
            raise invalid("from", f"the range may span at most {MAX_RANGE.days} days")
        return await audit_trail(monitor.pool, monitor.queries, hospital, since, until, limit)
