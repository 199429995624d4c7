"""Key management from the command line."""

from __future__ import annotations

from typing import cast

from bedsvc.admin.schemas import KeyRequest
from bedsvc.admin.service import create_key, revoke_key
from bedsvc.auth import IssuedKey, Role
from bedsvc.store import connect_pool, load_queries


async def issue_from_cli(
    database_url: str, hospital_code: str | None, role: str | None, label: str
) -> IssuedKey:
    request = KeyRequest(
        role=cast(Role, role or "hospital"), hospital_code=hospital_code, label=label
    )
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        return await create_key(pool, load_queries(), request)
    finally:
        await pool.close()


async def revoke_from_cli(database_url: str, key_id: str) -> None:
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        await revoke_key(pool, load_queries(), key_id)
    finally:
        await pool.close()
