"""A hospital's credentials at the registries: set (kept encrypted), cleared, audited."""

from __future__ import annotations

import asyncpg

from bedsvc.access.actor import Actor, record_event
from bedsvc.errors import NotFound, unknown_hospital
from bedsvc.relay.registries import NAMES, Registry
from bedsvc.secret_box import SecretBox
from bedsvc.store import Queries, relays


async def set_credential(
    pool: asyncpg.Pool,
    queries: Queries,
    box: SecretBox,
    actor: Actor,
    hospital_code: str,
    registry: Registry,
    login: str,
    secret: str,
) -> None:
    """Replaces the hospital's credential there; the relay starts afresh with it (a refusal
    of the previous one no longer holds) and sends the current state."""
    async with pool.acquire() as conn, conn.transaction():
        if await queries.get_hospital(conn, code=hospital_code) is None:
            raise unknown_hospital(hospital_code)
        await relays.set_credential(
            conn, queries, hospital_code, registry, login, box.encrypt(secret)
        )
        # The login is no secret (a hospital code, a cons-id); the password never leaves here.
        await record_event(
            conn, queries, actor, f"relay.{registry}.set", login, hospital_code, {"login": login}
        )


async def clear_credential(
    pool: asyncpg.Pool, queries: Queries, actor: Actor, hospital_code: str, registry: Registry
) -> None:
    """The hospital is no longer relayed there (what the registry holds stays as it is)."""
    async with pool.acquire() as conn, conn.transaction():
        if await queries.get_hospital(conn, code=hospital_code) is None:
            raise unknown_hospital(hospital_code)
        if not await relays.clear_credential(conn, queries, hospital_code, registry):
            raise NotFound(f"Hospital '{hospital_code}' has no {NAMES[registry]} relay credential.")
        await record_event(
            conn, queries, actor, f"relay.{registry}.clear", hospital_code, hospital_code
        )
