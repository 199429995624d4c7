"""The named queries of sql/queries, typed (written by scripts/gen-query-types)."""

# The parameters are named as in the SQL, `id` and `timeout` included.
# ruff: noqa: A002, ASYNC109

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from asyncpg import Record

from bedsvc.store.db import Conn


class Queries(Protocol):
    def exhausted_classes(self, conn: Conn, *, bed_classes: object) -> AsyncIterator[Record]: ...

    def exhausted_classes_cursor(
        self, conn: Conn, *, bed_classes: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def silent_hospitals(self, conn: Conn, *, older_than: object) -> AsyncIterator[Record]: ...

    def silent_hospitals_cursor(
        self, conn: Conn, *, older_than: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def open_alert_keys(self, conn: Conn, *, rules: object) -> AsyncIterator[Record]: ...

    def open_alert_keys_cursor(
        self, conn: Conn, *, rules: object
    ) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> AsyncIterator[Record]: ...

    def claim_deliveries_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> AsyncIterator[Record]: ...

    def list_alerts_cursor(
        self, conn: Conn, *, open_only: object, max_rows: object
    ) -> AbstractAsyncContextManager[Any]: ...

    async def hospital_alert_webhook(self, conn: Conn, *, code: object) -> Any: ...

    async def hold_conditions(self, conn: Conn, *, rules: object, subjects: object) -> Any: ...

    async def clear_conditions(
        self, conn: Conn, *, rules: object, holding_rules: object, holding_subjects: object
    ) -> Any: ...

    def conditions_due(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AsyncIterator[Record]: ...

    def conditions_due_cursor(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def alerts_due_to_resolve(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AsyncIterator[Record]: ...

    def alerts_due_to_resolve_cursor(
        self, conn: Conn, *, rules: object, hold: object
    ) -> AbstractAsyncContextManager[Any]: ...

    async def forget_conditions(self, conn: Conn, *, hold: object) -> Any: ...

    def audit_changes(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AsyncIterator[Record]: ...

    def audit_changes_cursor(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def audit_events(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AsyncIterator[Record]: ...

    def audit_events_cursor(
        self, conn: Conn, *, hospital_code: object, since: object, until: object, max_rows: object
    ) -> AbstractAsyncContextManager[Any]: ...

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

    async def find_aplicares_credential(self, conn: Conn, *, cons_id: object) -> Record | None: ...

    async def revoke_aplicares_credential(self, conn: Conn, *, cons_id: object) -> Any: ...

    async def upsert_sirs_credential(
        self, conn: Conn, *, hospital_code: object, password_hash: object, label: object
    ) -> Any: ...

    async def find_sirs_credential(self, conn: Conn, *, hospital_code: object) -> Record | None: ...

    async def replace_sirs_password_hash(
        self, conn: Conn, *, hospital_code: object, old_hash: object, new_hash: object
    ) -> Any: ...

    async def revoke_sirs_credential(self, conn: Conn, *, hospital_code: object) -> Any: ...

    def bridge_wards(self, conn: Conn, *, hospital_code: object) -> AsyncIterator[Record]: ...

    def bridge_wards_cursor(
        self, conn: Conn, *, hospital_code: object
    ) -> AbstractAsyncContextManager[Any]: ...

    async def open_ward_by_id_t_tt(
        self, conn: Conn, *, hospital_code: object, id_t_tt: object
    ) -> Record | None: ...

    async def ward_id_t_tt(
        self, conn: Conn, *, hospital_code: object, ward_code: object
    ) -> Any: ...

    def sirs_bed_types(self, conn: Conn) -> AsyncIterator[Record]: ...

    def sirs_bed_types_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> Record | None: ...

    async def get_hospital(self, conn: Conn, *, code: object) -> Record | None: ...

    async def hospital_state(self, conn: Conn, *, code: object) -> Record | None: ...

    def hospital_states(self, conn: Conn, *, codes: object) -> AsyncIterator[Record]: ...

    def hospital_states_cursor(
        self, conn: Conn, *, codes: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def all_hospital_states(self, conn: Conn) -> AsyncIterator[Record]: ...

    def all_hospital_states_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

    async def global_version(self, conn: Conn) -> Any: ...

    def hospital_versions(self, conn: Conn) -> AsyncIterator[Record]: ...

    def hospital_versions_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

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

    async def find_key(self, conn: Conn, *, key_hash: object) -> Record | None: ...

    async def revoke_key(self, conn: Conn, *, id: object) -> Any: ...

    async def find_hospital_key(
        self, conn: Conn, *, key_hash: object, hospital_code: object
    ) -> Record | None: ...

    def summary_rows(self, conn: Conn, *, region_code: object) -> AsyncIterator[Record]: ...

    def summary_rows_cursor(
        self, conn: Conn, *, region_code: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def stale_rows(
        self, conn: Conn, *, older_than: object, region_code: object
    ) -> AsyncIterator[Record]: ...

    def stale_rows_cursor(
        self, conn: Conn, *, older_than: object, region_code: object
    ) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> AsyncIterator[Record]: ...

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
    ) -> AbstractAsyncContextManager[Any]: ...

    async def set_local_query_limits(
        self, conn: Conn, *, timeout: object, check_interval: object
    ) -> Any: ...

    async def history_series_count(
        self, conn: Conn, *, hospital_code: object, region_code: object, bed_class: object
    ) -> Any: ...

    async def vapid_key(self, conn: Conn) -> Record | None: ...

    async def add_vapid_key(
        self, conn: Conn, *, public_key: object, private_key_encrypted: object
    ) -> Any: ...

    def lock_watched_hospitals(
        self, conn: Conn, *, hospital_code: object, region_code: object
    ) -> AsyncIterator[Record]: ...

    def lock_watched_hospitals_cursor(
        self, conn: Conn, *, hospital_code: object, region_code: object
    ) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> Record | None: ...

    async def unsubscribe(self, conn: Conn, *, endpoint: object) -> Any: ...

    def claim_notifications(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AsyncIterator[Record]: ...

    def claim_notifications_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> Record | None: ...

    async def close_ward(
        self,
        conn: Conn,
        *,
        hospital_code: object,
        ward_code: object,
        key_id: object,
        username: object,
    ) -> Record | None: ...

    def list_bed_classes(self, conn: Conn) -> AsyncIterator[Record]: ...

    def list_bed_classes_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

    async def ensure_region(self, conn: Conn, *, code: object, name: object) -> Any: ...

    async def ping(self, conn: Conn) -> Any: ...

    def region_names(self, conn: Conn) -> AsyncIterator[Record]: ...

    def region_names_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

    def bpjs_partner_codes(self, conn: Conn) -> AsyncIterator[Record]: ...

    def bpjs_partner_codes_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

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
    ) -> AsyncIterator[Record]: ...

    def claim_relays_cursor(
        self, conn: Conn, *, registries: object, batch: object, lease: object
    ) -> AbstractAsyncContextManager[Any]: ...

    async def relay_hospital(self, conn: Conn, *, hospital_code: object) -> Record | None: ...

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

    def relay_status(self, conn: Conn, *, hospital_code: object) -> AsyncIterator[Record]: ...

    def relay_status_cursor(
        self, conn: Conn, *, hospital_code: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def relay_lag(self, conn: Conn, *, registries: object) -> AsyncIterator[Record]: ...

    def relay_lag_cursor(
        self, conn: Conn, *, registries: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def failing_relays(
        self, conn: Conn, *, registries: object, older_than: object
    ) -> AsyncIterator[Record]: ...

    def failing_relays_cursor(
        self, conn: Conn, *, registries: object, older_than: object
    ) -> AbstractAsyncContextManager[Any]: ...

    async def relay_recovered(self, conn: Conn, *, registry: object) -> Any: ...

    async def set_reminder_contacts(
        self, conn: Conn, *, code: object, emails: object, chat_ids: object
    ) -> Any: ...

    async def reminder_contacts(self, conn: Conn, *, code: object) -> Record | None: ...

    async def close_lapses(self, conn: Conn, *, stale_after: object) -> Any: ...

    async def open_lapses(self, conn: Conn, *, stale_after: object) -> Any: ...

    async def escalate_lapses(self, conn: Conn, *, escalate_after: object) -> Any: ...

    def escalated_lapses(self, conn: Conn) -> AsyncIterator[Record]: ...

    def escalated_lapses_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

    def claim_reminders(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AsyncIterator[Record]: ...

    def claim_reminders_cursor(
        self, conn: Conn, *, batch: object, lease: object
    ) -> AbstractAsyncContextManager[Any]: ...

    def stale_wards(
        self, conn: Conn, *, code: object, stale_after: object
    ) -> AsyncIterator[Record]: ...

    def stale_wards_cursor(
        self, conn: Conn, *, code: object, stale_after: object
    ) -> AbstractAsyncContextManager[Any]: ...

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

    def applied_migrations(self, conn: Conn) -> AsyncIterator[Record]: ...

    def applied_migrations_cursor(self, conn: Conn) -> AbstractAsyncContextManager[Any]: ...

    async def record_migration(self, conn: Conn, *, version: object, name: object) -> Any: ...

    async def schema_migrations_exists(self, conn: Conn) -> Any: ...

    async def insert_staff_user(
        self, conn: Conn, *, username: object, hospital_code: object, password_hash: object
    ) -> Any: ...

    async def find_staff_user(self, conn: Conn, *, username: object) -> Record | None: ...

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

    async def find_session(self, conn: Conn, *, token_hash: object) -> Record | None: ...

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
