"""The named queries of sql/queries, typed (written by scripts/gen-query-types).

One Struct per query that returns rows, its fields the query's columns in order; bedsvc/store
builds them from asyncpg's records, so no record leaves the store.
"""

# The parameters are named as in the SQL, `id` and `timeout` included.
# ruff: noqa: A002, ASYNC109

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network
from typing import Any, Protocol

import msgspec

from bedsvc.store.cursor import RowCursor
from bedsvc.store.db import Conn


class ExhaustedClassesRow(msgspec.Struct, frozen=True):
    region_code: str
    region_name: str | None
    bed_class: str
    class_name: str
    capacity: int | None


class SilentHospitalsRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    alert_webhook_url: str | None
    last_report_at: datetime | None


class OpenAlertKeysRow(msgspec.Struct, frozen=True):
    rule: str
    subject: str


class ClaimDeliveriesRow(msgspec.Struct, frozen=True):
    id: int
    event: str
    url: str
    attempts: int
    alert_id: int
    rule: str
    subject: str
    region_code: str | None
    hospital_code: str | None
    bed_class: str | None
    message: str
    fired_at: datetime
    resolved_at: datetime | None
    hospital_webhook_url: str | None


class ListAlertsRow(msgspec.Struct, frozen=True):
    id: int
    rule: str
    subject: str
    region_code: str | None
    hospital_code: str | None
    bed_class: str | None
    message: str
    fired_at: datetime
    resolved_at: datetime | None
    deliveries: int | None
    delivered: int | None
    failed: int | None


class ConditionsDueRow(msgspec.Struct, frozen=True):
    rule: str
    subject: str


class AlertsDueToResolveRow(msgspec.Struct, frozen=True):
    rule: str
    subject: str


class AuditChangesRow(msgspec.Struct, frozen=True):
    id: int
    at: datetime
    key_id: str | None
    username: str | None
    change: str
    hospital_code: str
    ward_code: str
    bed_class: str
    reported_at: datetime
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    before_change: str | None
    before_capacity: int | None
    before_available: int | None
    before_available_male: int | None
    before_available_female: int | None
    before_waiting: int | None


class AuditEventsRow(msgspec.Struct, frozen=True):
    id: int
    at: datetime
    key_id: str | None
    username: str | None
    action: str
    hospital_code: str | None
    subject: str
    detail: Any


class FindAplicaresCredentialRow(msgspec.Struct, frozen=True):
    cons_id: str
    hospital_code: str
    secret_enc: bytes
    revoked_at: datetime | None
    allowed_addresses: list[IPv4Network | IPv6Network]
    bpjs_ppk_code: str | None
    active: bool


class FindSirsCredentialRow(msgspec.Struct, frozen=True):
    hospital_code: str
    password_hash: str
    revoked_at: datetime | None
    active: bool


class BridgeWardsRow(msgspec.Struct, frozen=True):
    id_t_tt: int
    ward_code: str
    name: str
    bed_class: str
    capacity: int
    available: int
    available_male: int | None
    available_female: int | None
    waiting: int | None
    received_at: datetime


class OpenWardByIdTTtRow(msgspec.Struct, frozen=True):
    id_t_tt: int
    ward_code: str
    name: str
    bed_class: str


class SirsBedTypesRow(msgspec.Struct, frozen=True):
    id_tt: int
    name: str


class UpsertHospitalRow(msgspec.Struct, frozen=True):
    created: bool
    version: int


class GetHospitalRow(msgspec.Struct, frozen=True):
    code: str
    bpjs_ppk_code: str | None
    name: str
    kind: str
    region_code: str
    address: str
    phone: str
    lat: float | None
    lon: float | None
    active: bool


class HospitalStateRow(msgspec.Struct, frozen=True):
    code: str
    version: int
    name: str | None
    kind: str | None
    region_code: str | None
    address: str | None
    phone: str | None
    lat: float | None
    lon: float | None
    wards: Any


class HospitalStatesRow(msgspec.Struct, frozen=True):
    code: str | None
    version: int | None
    name: str | None
    kind: str | None
    region_code: str | None
    address: str | None
    phone: str | None
    lat: float | None
    lon: float | None
    wards: Any


class AllHospitalStatesRow(msgspec.Struct, frozen=True):
    code: str | None
    version: int | None
    name: str | None
    kind: str | None
    region_code: str | None
    address: str | None
    phone: str | None
    lat: float | None
    lon: float | None
    wards: Any


class HospitalVersionsRow(msgspec.Struct, frozen=True):
    code: str
    version: int


class FindKeyRow(msgspec.Struct, frozen=True):
    id: str
    key_hash: bytes
    role: str
    hospital_code: str | None
    revoked_at: datetime | None


class FindHospitalKeysRow(msgspec.Struct, frozen=True):
    id: str | None
    key_hash: bytes | None
    role: str | None
    hospital_code: str | None
    revoked_at: datetime | None
    hospital_exists: bool
    hospital_active: bool


class SummaryRowsRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    lat: float | None
    lon: float | None
    bed_classes: list[str]
    capacities: list[int]
    availables: list[int]
    updated_at: datetime | None


class StaleRowsRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    phone: str
    ward_code: str | None
    ward_name: str | None
    bed_class: str | None
    reported_at: datetime | None
    hospital_reported_at: datetime | None
    age_seconds: int | None
    hospital_age_seconds: int | None
    hospital_stale: bool | None


class HistoryRowsRow(msgspec.Struct, frozen=True):
    bucket_start: datetime
    hospital_code: str
    bed_class: str
    capacity: int
    occupied: int
    available: int


class VapidKeyRow(msgspec.Struct, frozen=True):
    public_key: str
    private_key_encrypted: bytes


class LockWatchedHospitalsRow(msgspec.Struct, frozen=True):
    code: str


class SubscribeRow(msgspec.Struct, frozen=True):
    id: int
    expires_at: datetime


class ClaimNotificationsRow(msgspec.Struct, frozen=True):
    id: int
    endpoint: str
    p256dh: str
    auth: str
    bed_class: str
    attempts: int
    hospital_code: str
    hospital_name: str
    class_name: str
    available: int


class WriteReportRow(msgspec.Struct, frozen=True):
    version: int
    applied: list[str]
    id_t_tts: list[int]
    active: bool
    open_wards: int
    missing: int
    snapshot_version: int | None
    code: str | None
    name: str | None
    kind: str | None
    region_code: str | None
    address: str | None
    phone: str | None
    lat: float | None
    lon: float | None
    wards: Any


class WriteReportsRow(msgspec.Struct, frozen=True):
    code: str
    version: int
    applied: list[str]
    id_t_tts: list[int]
    active: bool
    open_wards: int
    snapshot_version: int | None
    name: str | None
    kind: str | None
    region_code: str | None
    address: str | None
    phone: str | None
    lat: float | None
    lon: float | None
    wards: Any


class CloseWardRow(msgspec.Struct, frozen=True):
    version: int | None
    active: bool


class ListBedClassesRow(msgspec.Struct, frozen=True):
    code: str
    name_id: str
    name_en: str
    aplicares_codes: list[str]
    sirs_ids: list[int]
    edxl_bed_types: list[str]
    is_intensive: bool


class RegionNamesRow(msgspec.Struct, frozen=True):
    code: str
    name: str | None


class BpjsPartnerCodesRow(msgspec.Struct, frozen=True):
    code: str


class ClaimRelaysRow(msgspec.Struct, frozen=True):
    hospital_code: str
    registry: str
    login: str
    secret_enc: bytes
    credential_set_at: datetime
    failures: int
    min_stamp: int
    sent_keys: Any


class RelayHospitalRow(msgspec.Struct, frozen=True):
    version: int
    bpjs_ppk_code: str | None
    read_at: datetime | None
    wards: Any


class RelayStatusRow(msgspec.Struct, frozen=True):
    hospital_code: str
    hospital_name: str
    version: int
    registry: str | None
    login: str | None
    sent_version: int | None
    last_sent_at: datetime | None
    last_error: str | None
    last_error_detail: str | None
    last_error_at: datetime | None
    failing_since: datetime | None
    refused_at: datetime | None
    next_attempt_at: datetime | None


class RelayLagRow(msgspec.Struct, frozen=True):
    registry: str
    lag_seconds: float


class FailingRelaysRow(msgspec.Struct, frozen=True):
    hospital_code: str
    hospital_name: str
    region_code: str
    registry: str
    last_error: str | None
    failing_since: datetime | None
    refused_at: datetime | None


class ReminderContactsRow(msgspec.Struct, frozen=True):
    reminder_emails: list[str]
    telegram_chat_ids: list[str]


class EscalatedLapsesRow(msgspec.Struct, frozen=True):
    code: str
    name: str
    region_code: str
    since: datetime
    escalated_at: datetime
    contacts: int


class ClaimRemindersRow(msgspec.Struct, frozen=True):
    id: int
    kind: str
    channel: str
    recipient: str
    attempts: int
    since: datetime
    opened_at: datetime
    lapse_open: bool | None
    hospital_code: str
    hospital_name: str
    region_code: str
    still_listed: bool | None


class StaleWardsRow(msgspec.Struct, frozen=True):
    ward_code: str
    name: str
    bed_class: str
    class_name: str
    reported_at: datetime


class AppliedMigrationsRow(msgspec.Struct, frozen=True):
    version: int


class FindStaffUserRow(msgspec.Struct, frozen=True):
    username: str
    hospital_code: str
    password_hash: str
    disabled_at: datetime | None
    hospital_name: str


class FindSessionRow(msgspec.Struct, frozen=True):
    token_hash: bytes
    username: str
    csrf_token: str
    expires_at: datetime
    hospital_code: str
    hospital_name: str


# Each query that returns rows: its row, and whether it returns one row at most.
ROWS: dict[str, tuple[type[msgspec.Struct], bool]] = {
    "exhausted_classes": (ExhaustedClassesRow, False),
    "silent_hospitals": (SilentHospitalsRow, False),
    "open_alert_keys": (OpenAlertKeysRow, False),
    "claim_deliveries": (ClaimDeliveriesRow, False),
    "list_alerts": (ListAlertsRow, False),
    "conditions_due": (ConditionsDueRow, False),
    "alerts_due_to_resolve": (AlertsDueToResolveRow, False),
    "audit_changes": (AuditChangesRow, False),
    "audit_events": (AuditEventsRow, False),
    "find_aplicares_credential": (FindAplicaresCredentialRow, True),
    "find_sirs_credential": (FindSirsCredentialRow, True),
    "bridge_wards": (BridgeWardsRow, False),
    "open_ward_by_id_t_tt": (OpenWardByIdTTtRow, True),
    "sirs_bed_types": (SirsBedTypesRow, False),
    "upsert_hospital": (UpsertHospitalRow, True),
    "get_hospital": (GetHospitalRow, True),
    "hospital_state": (HospitalStateRow, True),
    "hospital_states": (HospitalStatesRow, False),
    "all_hospital_states": (AllHospitalStatesRow, False),
    "hospital_versions": (HospitalVersionsRow, False),
    "find_key": (FindKeyRow, True),
    "find_hospital_keys": (FindHospitalKeysRow, False),
    "summary_rows": (SummaryRowsRow, False),
    "stale_rows": (StaleRowsRow, False),
    "history_rows": (HistoryRowsRow, False),
    "vapid_key": (VapidKeyRow, True),
    "lock_watched_hospitals": (LockWatchedHospitalsRow, False),
    "subscribe": (SubscribeRow, True),
    "claim_notifications": (ClaimNotificationsRow, False),
    "write_report": (WriteReportRow, True),
    "write_reports": (WriteReportsRow, False),
    "close_ward": (CloseWardRow, True),
    "list_bed_classes": (ListBedClassesRow, False),
    "region_names": (RegionNamesRow, False),
    "bpjs_partner_codes": (BpjsPartnerCodesRow, False),
    "claim_relays": (ClaimRelaysRow, False),
    "relay_hospital": (RelayHospitalRow, True),
    "relay_status": (RelayStatusRow, False),
    "relay_lag": (RelayLagRow, False),
    "failing_relays": (FailingRelaysRow, False),
    "reminder_contacts": (ReminderContactsRow, True),
    "escalated_lapses": (EscalatedLapsesRow, False),
    "claim_reminders": (ClaimRemindersRow, False),
    "stale_wards": (StaleWardsRow, False),
    "applied_migrations": (AppliedMigrationsRow, False),
    "find_staff_user": (FindStaffUserRow, True),
    "find_session": (FindSessionRow, True),
}


class Queries(Protocol):
    def exhausted_classes(
        self, conn: Conn, *, bed_classes: object
    ) -> AsyncIterator[ExhaustedClassesRow]: ...

    def exhausted_classes_cursor(
        self, conn: Conn, *, bed_classes: object
    ) -> AbstractAsyncContextManager[RowCursor[ExhaustedClassesRow]]: ...

    def silent_hospitals(
        self, conn: Conn, *, older_than: object
    ) -> AsyncIterator[SilentHospitalsRow]: ...

    def silent_hospitals_cursor(
        self, conn: Conn, *, older_than: object
    ) -> AbstractAsyncContextManager[RowCursor[SilentHospitalsRow]]: ...

    def open_alert_keys(self, conn: Conn, *, rules: object) -> AsyncIterator[OpenAlertKeysRow]: ...

    def open_alert_keys_cursor(
        self, conn: Conn, *, rules: object
    ) -> AbstractAsyncContextManager[RowCursor[OpenAlertKeysRow]]: ...

    async def fire_alert(
        self,
        conn: Conn,
        *,
        rule: object,
        subject: object,
        region_code: object,
        hospital_code: object,
        bed_class: object,
        message: object,
    ) -> Any: ...

    async def resolve_alert(self, conn: Conn, *, rule: object, subject: object) -> Any: ...

    async def add_deliveries(
        self, conn: Conn, *, alert_id: object, event: object, urls: object
    ) -> Any: ...

    def claim_deliveries(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AsyncIterator[ClaimDeliveriesRow]: ...

    def claim_deliveries_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[RowCursor[ClaimDeliveriesRow]]: ...

    async def delivery_succeeded(self, conn: Conn, *, id: object) -> Any: ...

    async def delivery_failed(
        self,
        conn: Conn,
        *,
        id: object,
        error: object,
        max_attempts: object,
        backoff: object,
        backoff_max: object,
    ) -> Any: ...

    def list_alerts(
        self, conn: Conn, *, open_only: object, max_rows: object
    ) -> AsyncIterator[ListAlertsRow]: ...

    def list_alerts_cursor(
        self, conn: Conn, *, open_only: object, max_rows: object
    ) -> AbstractAsyncContextManager[RowCursor[ListAlertsRow]]: ...

    async def hospital_alert_webhook(self, conn: Conn, *, code: object) -> Any: ...

    async def hold_conditions(self, conn: Conn, *, rules: object, subjects: object) -> Any: ...

    async def clear_conditions(
        self, conn: Conn, *, rules: object, holding_rules: object, holding_subjects: object
    ) -> Any: ...

    def conditions_due(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AsyncIterator[ConditionsDueRow]: ...

    def conditions_due_cursor(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AbstractAsyncContextManager[RowCursor[ConditionsDueRow]]: ...

    def alerts_due_to_resolve(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AsyncIterator[AlertsDueToResolveRow]: ...

    def alerts_due_to_resolve_cursor(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AbstractAsyncContextManager[RowCursor[AlertsDueToResolveRow]]: ...

    async def forget_conditions(self, conn: Conn, *, hold: object) -> Any: ...

    def audit_changes(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AsyncIterator[AuditChangesRow]: ...

    def audit_changes_cursor(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AbstractAsyncContextManager[RowCursor[AuditChangesRow]]: ...

    def audit_events(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AsyncIterator[AuditEventsRow]: ...

    def audit_events_cursor(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AbstractAsyncContextManager[RowCursor[AuditEventsRow]]: ...

    async def insert_aplicares_credential(
        self,
        conn: Conn,
        *,
        cons_id: object,
        hospital_code: object,
        secret_enc: object,
        label: object,
        allowed_addresses: object,
    ) -> Any: ...

    async def find_aplicares_credential(
        self, conn: Conn, *, cons_id: object
    ) -> FindAplicaresCredentialRow | None: ...

    async def revoke_aplicares_credential(self, conn: Conn, *, cons_id: object) -> Any: ...

    async def upsert_sirs_credential(
        self, conn: Conn, *, hospital_code: object, password_hash: object, label: object
    ) -> Any: ...

    async def find_sirs_credential(
        self, conn: Conn, *, hospital_code: object
    ) -> FindSirsCredentialRow | None: ...

    async def replace_sirs_password_hash(
        self, conn: Conn, *, hospital_code: object, old_hash: object, new_hash: object
    ) -> Any: ...

    async def revoke_sirs_credential(self, conn: Conn, *, hospital_code: object) -> Any: ...

    def bridge_wards(
        self, conn: Conn, *, hospital_code: object
    ) -> AsyncIterator[BridgeWardsRow]: ...

    def bridge_wards_cursor(
        self, conn: Conn, *, hospital_code: object
    ) -> AbstractAsyncContextManager[RowCursor[BridgeWardsRow]]: ...

    async def open_ward_by_id_t_tt(
        self, conn: Conn, *, hospital_code: object, id_t_tt: object
    ) -> OpenWardByIdTTtRow | None: ...

    async def ward_id_t_tt(
        self, conn: Conn, *, hospital_code: object, ward_code: object
    ) -> Any: ...

    def sirs_bed_types(self, conn: Conn) -> AsyncIterator[SirsBedTypesRow]: ...

    def sirs_bed_types_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[SirsBedTypesRow]]: ...

    async def upsert_hospital(
        self,
        conn: Conn,
        *,
        code: object,
        bpjs_ppk_code: object,
        name: object,
        kind: object,
        region_code: object,
        address: object,
        phone: object,
        lat: object,
        lon: object,
        active: object,
    ) -> UpsertHospitalRow | None: ...

    async def get_hospital(self, conn: Conn, *, code: object) -> GetHospitalRow | None: ...

    async def hospital_state(self, conn: Conn, *, code: object) -> HospitalStateRow | None: ...

    def hospital_states(self, conn: Conn, *, codes: object) -> AsyncIterator[HospitalStatesRow]: ...

    def hospital_states_cursor(
        self, conn: Conn, *, codes: object
    ) -> AbstractAsyncContextManager[RowCursor[HospitalStatesRow]]: ...

    def all_hospital_states(self, conn: Conn) -> AsyncIterator[AllHospitalStatesRow]: ...

    def all_hospital_states_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[AllHospitalStatesRow]]: ...

    async def global_version(self, conn: Conn) -> Any: ...

    def hospital_versions(self, conn: Conn) -> AsyncIterator[HospitalVersionsRow]: ...

    def hospital_versions_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[HospitalVersionsRow]]: ...

    async def hospital_by_ppk_code(self, conn: Conn, *, bpjs_ppk_code: object) -> Any: ...

    async def insert_key(
        self,
        conn: Conn,
        *,
        id: object,
        key_hash: object,
        role: object,
        hospital_code: object,
        label: object,
    ) -> Any: ...

    async def find_key(self, conn: Conn, *, key_hash: object) -> FindKeyRow | None: ...

    async def revoke_key(self, conn: Conn, *, id: object) -> Any: ...

    def find_hospital_keys(
        self, conn: Conn, *, key_hashes: object, hospital_codes: object
    ) -> AsyncIterator[FindHospitalKeysRow]: ...

    def find_hospital_keys_cursor(
        self, conn: Conn, *, key_hashes: object, hospital_codes: object
    ) -> AbstractAsyncContextManager[RowCursor[FindHospitalKeysRow]]: ...

    def summary_rows(self, conn: Conn, *, region_code: object) -> AsyncIterator[SummaryRowsRow]: ...

    def summary_rows_cursor(
        self, conn: Conn, *, region_code: object
    ) -> AbstractAsyncContextManager[RowCursor[SummaryRowsRow]]: ...

    def stale_rows(
        self, conn: Conn, *, older_than: object, region_code: object
    ) -> AsyncIterator[StaleRowsRow]: ...

    def stale_rows_cursor(
        self, conn: Conn, *, older_than: object, region_code: object
    ) -> AbstractAsyncContextManager[RowCursor[StaleRowsRow]]: ...

    def history_rows(
        self,
        conn: Conn,
        *,
        bucket: object,
        origin: object,
        start: object,
        stop: object,
        hospital_code: object,
        region_code: object,
        bed_class: object,
    ) -> AsyncIterator[HistoryRowsRow]: ...

    def history_rows_cursor(
        self,
        conn: Conn,
        *,
        bucket: object,
        origin: object,
        start: object,
        stop: object,
        hospital_code: object,
        region_code: object,
        bed_class: object,
    ) -> AbstractAsyncContextManager[RowCursor[HistoryRowsRow]]: ...

    async def set_local_query_limits(
        self, conn: Conn, *, timeout: object, check_interval: object
    ) -> Any: ...

    async def history_series_count(
        self, conn: Conn, *, hospital_code: object, region_code: object, bed_class: object
    ) -> Any: ...

    async def vapid_key(self, conn: Conn) -> VapidKeyRow | None: ...

    async def add_vapid_key(
        self, conn: Conn, *, public_key: object, private_key_encrypted: object
    ) -> Any: ...

    def lock_watched_hospitals(
        self, conn: Conn, *, hospital_code: object, region_code: object
    ) -> AsyncIterator[LockWatchedHospitalsRow]: ...

    def lock_watched_hospitals_cursor(
        self, conn: Conn, *, hospital_code: object, region_code: object
    ) -> AbstractAsyncContextManager[RowCursor[LockWatchedHospitalsRow]]: ...

    async def watched_free_beds(
        self, conn: Conn, *, hospital_code: object, region_code: object, bed_class: object
    ) -> Any: ...

    async def lock_address(self, conn: Conn, *, client_address: object) -> Any: ...

    async def waiting_for_address(self, conn: Conn, *, client_address: object) -> Any: ...

    async def subscribe(
        self,
        conn: Conn,
        *,
        endpoint: object,
        p256dh: object,
        auth: object,
        hospital_code: object,
        region_code: object,
        bed_class: object,
        client_address: object,
        lifetime: object,
    ) -> SubscribeRow | None: ...

    async def unsubscribe(self, conn: Conn, *, endpoint: object) -> Any: ...

    def claim_notifications(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AsyncIterator[ClaimNotificationsRow]: ...

    def claim_notifications_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[RowCursor[ClaimNotificationsRow]]: ...

    async def drop_subscription(self, conn: Conn, *, id: object) -> Any: ...

    async def notification_failed(
        self,
        conn: Conn,
        *,
        id: object,
        error: object,
        max_attempts: object,
        backoff: object,
        backoff_max: object,
    ) -> Any: ...

    async def expire_subscriptions(self, conn: Conn) -> Any: ...

    async def write_report(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        reported_at: object,
        ward_codes: object,
        names: object,
        bed_classes: object,
        capacities: object,
        availables: object,
        males: object,
        females: object,
        waitings: object,
        only_open: object,
        max_open_wards: object,
        key_id: object,
        username: object,
    ) -> WriteReportRow | None: ...

    def write_reports(
        self, conn: Conn, *, hospital_codes: object, reports: object, max_open_wards: object
    ) -> AsyncIterator[WriteReportsRow]: ...

    def write_reports_cursor(
        self, conn: Conn, *, hospital_codes: object, reports: object, max_open_wards: object
    ) -> AbstractAsyncContextManager[RowCursor[WriteReportsRow]]: ...

    async def close_ward(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        ward_code: object,
        key_id: object,
        username: object,
    ) -> CloseWardRow | None: ...

    def list_bed_classes(self, conn: Conn) -> AsyncIterator[ListBedClassesRow]: ...

    def list_bed_classes_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[ListBedClassesRow]]: ...

    async def ensure_region(self, conn: Conn, *, code: object, name: object) -> Any: ...

    async def ping(self, conn: Conn) -> Any: ...

    def region_names(self, conn: Conn) -> AsyncIterator[RegionNamesRow]: ...

    def region_names_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[RegionNamesRow]]: ...

    def bpjs_partner_codes(self, conn: Conn) -> AsyncIterator[BpjsPartnerCodesRow]: ...

    def bpjs_partner_codes_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[BpjsPartnerCodesRow]]: ...

    async def set_relay_credential(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        registry: object,
        login: object,
        secret_enc: object,
    ) -> Any: ...

    async def clear_relay_credential(
        self, conn: Conn, *, hospital_code: object, registry: object
    ) -> Any: ...

    def claim_relays(
        self, conn: Conn, *, registries: object, batch: object, lease: object
    ) -> AsyncIterator[ClaimRelaysRow]: ...

    def claim_relays_cursor(
        self, conn: Conn, *, registries: object, batch: object, lease: object
    ) -> AbstractAsyncContextManager[RowCursor[ClaimRelaysRow]]: ...

    async def relay_hospital(
        self, conn: Conn, *, hospital_code: object
    ) -> RelayHospitalRow | None: ...

    async def relay_sent(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        registry: object,
        credential_set_at: object,
        version: object,
        state_at: object,
        min_stamp: object,
        min_interval: object,
        sent_keys: object,
    ) -> Any: ...

    async def relay_failed(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        registry: object,
        credential_set_at: object,
        error: object,
        detail: object,
        retry_in: object,
        refused: object,
        min_stamp: object,
    ) -> Any: ...

    def relay_status(
        self, conn: Conn, *, hospital_code: object
    ) -> AsyncIterator[RelayStatusRow]: ...

    def relay_status_cursor(
        self, conn: Conn, *, hospital_code: object
    ) -> AbstractAsyncContextManager[RowCursor[RelayStatusRow]]: ...

    def relay_lag(self, conn: Conn, *, registries: object) -> AsyncIterator[RelayLagRow]: ...

    def relay_lag_cursor(
        self, conn: Conn, *, registries: object
    ) -> AbstractAsyncContextManager[RowCursor[RelayLagRow]]: ...

    def failing_relays(
        self, conn: Conn, *, registries: object, older_than: object
    ) -> AsyncIterator[FailingRelaysRow]: ...

    def failing_relays_cursor(
        self, conn: Conn, *, registries: object, older_than: object
    ) -> AbstractAsyncContextManager[RowCursor[FailingRelaysRow]]: ...

    async def relay_recovered(self, conn: Conn, *, registry: object) -> Any: ...

    async def set_reminder_contacts(
        self, conn: Conn, *, code: object, emails: object, chat_ids: object
    ) -> Any: ...

    async def reminder_contacts(
        self, conn: Conn, *, code: object
    ) -> ReminderContactsRow | None: ...

    async def close_lapses(self, conn: Conn, *, stale_after: object) -> Any: ...

    async def open_lapses(self, conn: Conn, *, stale_after: object) -> Any: ...

    async def escalate_lapses(self, conn: Conn, *, escalate_after: object) -> Any: ...

    def escalated_lapses(self, conn: Conn) -> AsyncIterator[EscalatedLapsesRow]: ...

    def escalated_lapses_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[EscalatedLapsesRow]]: ...

    def claim_reminders(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AsyncIterator[ClaimRemindersRow]: ...

    def claim_reminders_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[RowCursor[ClaimRemindersRow]]: ...

    def stale_wards(
        self, conn: Conn, *, code: object, stale_after: object
    ) -> AsyncIterator[StaleWardsRow]: ...

    def stale_wards_cursor(
        self, conn: Conn, *, code: object, stale_after: object
    ) -> AbstractAsyncContextManager[RowCursor[StaleWardsRow]]: ...

    async def reminder_sent(self, conn: Conn, *, id: object) -> Any: ...

    async def reminder_cancelled(self, conn: Conn, *, id: object, reason: object) -> Any: ...

    async def reminder_failed(
        self,
        conn: Conn,
        *,
        id: object,
        error: object,
        max_attempts: object,
        backoff: object,
        backoff_max: object,
    ) -> Any: ...

    async def lock_migrations(self, conn: Conn, *, lock_id: object) -> Any: ...

    async def unlock_migrations(self, conn: Conn, *, lock_id: object) -> Any: ...

    async def create_schema_migrations(self, conn: Conn) -> Any: ...

    def applied_migrations(self, conn: Conn) -> AsyncIterator[AppliedMigrationsRow]: ...

    def applied_migrations_cursor(
        self, conn: Conn
    ) -> AbstractAsyncContextManager[RowCursor[AppliedMigrationsRow]]: ...

    async def record_migration(self, conn: Conn, *, version: object, name: object) -> Any: ...

    async def schema_migrations_exists(self, conn: Conn) -> Any: ...

    async def insert_staff_user(
        self, conn: Conn, *, username: object, hospital_code: object, password_hash: object
    ) -> Any: ...

    async def find_staff_user(self, conn: Conn, *, username: object) -> FindStaffUserRow | None: ...

    async def disable_staff_user(self, conn: Conn, *, username: object) -> Any: ...

    async def update_password_hash(
        self, conn: Conn, *, username: object, password_hash: object
    ) -> Any: ...

    async def insert_session(
        self,
        conn: Conn,
        *,
        token_hash: object,
        username: object,
        csrf_token: object,
        lifetime: object,
    ) -> Any: ...

    async def find_session(self, conn: Conn, *, token_hash: object) -> FindSessionRow | None: ...

    async def delete_session(self, conn: Conn, *, token_hash: object) -> Any: ...

    async def delete_user_sessions(self, conn: Conn, *, username: object) -> Any: ...

    async def delete_expired_sessions(self, conn: Conn) -> Any: ...

    async def record_audit_event(
        self,
        conn: Conn,
        *,
        key_id: object,
        username: object,
        action: object,
        hospital_code: object,
        subject: object,
        detail: object,
    ) -> Any: ...

    async def set_alert_webhook(self, conn: Conn, *, code: object, url: object) -> Any: ...
