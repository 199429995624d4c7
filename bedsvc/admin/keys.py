"""Key management from the command line."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from typing import cast

from bedsvc.access.keys import IssuedKey, Role
from bedsvc.admin.schemas import KeyRequest
from bedsvc.admin.service import create_key, revoke_key
from bedsvc.bridges.credentials import (
    AplicaresCredential,
    SirsCredential,
    issue_aplicares,
    issue_sirs,
    revoke_aplicares,
    revoke_sirs,
)
from bedsvc.errors import NotFound
from bedsvc.secret_box import load_secret_box
from bedsvc.settings import Settings
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


async def issue_aplicares_from_cli(
    settings: Settings,
    database_url: str,
    hospital_code: str,
    label: str,
    allowed: Sequence[IPv4Network | IPv6Network] = (),
) -> AplicaresCredential:
    """Uses the same key (BEDSVC_SECRET_KEY or the data folder's key file) as the service."""
    box = load_secret_box(settings)
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        return await issue_aplicares(pool, load_queries(), box, hospital_code, label, allowed)
    finally:
        await pool.close()


async def issue_sirs_from_cli(
    settings: Settings, database_url: str, hospital_code: str, label: str
) -> SirsCredential:
    """The password's hash is keyed with the service's key, as for Aplicares."""
    box = load_secret_box(settings)
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        return await issue_sirs(pool, load_queries(), box, hospital_code, label)
    finally:
        await pool.close()


async def revoke_from_cli(database_url: str, key_id: str, sirs: bool = False) -> None:
    """An API key id or an Aplicares cons-id; with `sirs`, a hospital's SIRS credentials."""
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    queries = load_queries()
    try:
        if sirs:
            await revoke_sirs(pool, queries, key_id)
            return
        try:
            await revoke_key(pool, queries, key_id)
        except NotFound:
            await revoke_aplicares(pool, queries, key_id)
    finally:
        await pool.close()
