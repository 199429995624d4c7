"""Registry changes shared by the admin API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import msgspec

from bedsvc.access.actor import OPERATOR, Actor, record_event
from bedsvc.access.keys import IssuedKey, issue_key
from bedsvc.admin.schemas import HospitalIn, HospitalSaved, KeyRequest
from bedsvc.errors import NotFound, invalid, unknown_hospital
from bedsvc.state.sync import CacheSync
from bedsvc.store import Conn, Queries
from bedsvc.store.states import load_state


@dataclass(frozen=True, slots=True)
class AdminService:
    """What the admin API's registry and key routes use, built once per worker."""

    pool: asyncpg.Pool
    queries: Queries
    sync: CacheSync


async def save_hospital(
    pool: asyncpg.Pool,
    queries: Queries,
    sync: CacheSync | None,
    hospital: HospitalIn,
    actor: Actor,
) -> HospitalSaved:
    """Creates or updates a hospital; its public listing changes with a new version. Its alert
    receiver, its reminder contacts and the edit's audit event are written in the same
    transaction: the trail never misses an edit that was made, nor names one that was not."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            await queries.ensure_region(conn, code=hospital.region_code, name=hospital.region_name)
            if hospital.bpjs_ppk_code is not None:
                await _check_ppk_code_free(conn, queries, hospital)
            saved = await queries.upsert_hospital(
                conn,
                code=hospital.code,
                bpjs_ppk_code=hospital.bpjs_ppk_code,
                name=hospital.name,
                kind=hospital.kind,
                region_code=hospital.region_code,
                address=hospital.address,
                phone=hospital.phone,
                lat=hospital.lat,
                lon=hospital.lon,
                active=hospital.active,
            )
            if saved is None:
                raise RuntimeError("upsert_hospital answers one row")
            await queries.set_alert_webhook(
                conn, code=hospital.code, url=hospital.alert_webhook_url
            )
            await queries.set_reminder_contacts(
                conn,
                code=hospital.code,
                emails=_distinct(hospital.reminder_emails),
                chat_ids=_distinct(hospital.telegram_chat_ids),
            )
            detail = msgspec.to_builtins(hospital) | {"created": saved.created}
            await record_event(
                conn, queries, actor, "hospital.save", hospital.code, hospital.code, detail
            )
        # Read after the commit: this change and any that came after it.
        state_version, state = await load_state(conn, queries, hospital.code)
    if sync is not None:
        await sync.publish(hospital.code, state_version, state)
    return HospitalSaved(code=hospital.code, created=saved.created, version=saved.version)


async def _check_ppk_code_free(conn: Conn, queries: Queries, hospital: HospitalIn) -> None:
    owner = await queries.hospital_by_ppk_code(conn, bpjs_ppk_code=hospital.bpjs_ppk_code)
    if owner is not None and owner != hospital.code:
        raise invalid("bpjs_ppk_code", f"already used by hospital '{owner}'")


async def create_key(
    pool: asyncpg.Pool, queries: Queries, request: KeyRequest, actor: Actor = OPERATOR
) -> IssuedKey:
    if (request.role == "hospital") != (request.hospital_code is not None):
        raise invalid("hospital_code", "required for role 'hospital' and only for it")
    async with pool.acquire() as conn, conn.transaction():
        if request.hospital_code is not None and (
            await queries.get_hospital(conn, code=request.hospital_code) is None
        ):
            raise unknown_hospital(request.hospital_code)
        issued = await issue_key(conn, queries, request.role, request.hospital_code, request.label)
        detail = {"role": request.role, "label": request.label}
        await record_event(
            conn, queries, actor, "key.issue", issued.key_id, request.hospital_code, detail
        )
        return issued


async def revoke_key(
    pool: asyncpg.Pool, queries: Queries, key_id: str, actor: Actor = OPERATOR
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        hospital_code = await queries.revoke_key(conn, id=key_id)
        if hospital_code is None:
            raise NotFound(f"No API key '{key_id}'.")
        await record_event(conn, queries, actor, "key.revoke", key_id, hospital_code or None)


def _distinct(values: list[str] | None) -> list[str] | None:
    """Each address once, in the order given (one reminder per address)."""
    return None if values is None else list(dict.fromkeys(values))
