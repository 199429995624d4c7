"""X-rs-id (the Kemenkes hospital code) and X-pass (the password, plain or its MD5 hex).

Hospital codes are public, so a sign-in must cost an attacker more than it costs us: the check
is one HMAC (microseconds), an unknown rs_id goes through the same work and the same answer
as a wrong password, and failures are counted per (rs_id, client address) and per address
(bedsvc/access/throttle.py) so that a flood of guesses is refused with 429 before any check.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from typing import Any

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.access.accepted import accept_credential
from bedsvc.access.actor import set_actor
from bedsvc.access.client_address import client_address
from bedsvc.bridges.actor import BridgeActor
from bedsvc.bridges.credentials import (
    SIRS_HASH_SCHEME,
    hash_sirs_password,
    md5_hex,
    sirs_digests,
)
from bedsvc.bridges.service import BridgeService, bridges_of
from bedsvc.errors import Forbidden, NotAuthenticated
from bedsvc.secret_box import SecretBox

log = structlog.get_logger(__name__)

_MD5_HEX = re.compile(r"\A[0-9a-fA-F]{32}\Z")
_REFUSED = "X-rs-id atau X-pass salah."
_LEGACY_PREFIX = "$argon2"
# Compared against when the rs_id has no credentials, so that it costs what a real one does.
_NO_CREDENTIAL = f"{SIRS_HASH_SCHEME}${'0' * 64}${'0' * 64}"
_MAX_LOGIN = 64


def keyed_match(box: SecretBox, stored: str, sent: str) -> tuple[bool, bool]:
    """(matches, under the current key). Both stored forms are compared under every key,
    without stopping early, so the time taken says nothing about which one matched."""
    scheme, _, rest = stored.partition("$")
    plain, _, digest = rest.partition("$")
    candidate = sent.lower() if _MD5_HEX.match(sent) else sent
    matches = []
    for computed in sirs_digests(box, candidate):
        as_plain = hmac.compare_digest(computed, plain)
        as_md5 = hmac.compare_digest(computed, digest)
        matches.append(as_plain | as_md5)
    known = scheme == SIRS_HASH_SCHEME
    return known and any(matches), known and matches[0]


def legacy_match(password_hash: str, sent: str) -> bool:
    """Argon2id of the MD5 hex, as credentials issued before the keyed hash were stored;
    checked once per sign-in until the hash is replaced (see _upgrade)."""
    candidate = sent.lower() if _MD5_HEX.match(sent) else md5_hex(sent)
    try:
        return PasswordHasher().verify(password_hash, candidate)
    except (VerificationError, InvalidHashError):
        return False


async def _password_ok(bridges: BridgeService, rs_id: str, stored: str | None, sent: str) -> bool:
    box = bridges.secret_box
    if stored is not None and stored.startswith(_LEGACY_PREFIX):
        # Off the event loop: Argon2 is slow on purpose.
        if not await asyncio.to_thread(legacy_match, stored, sent):
            return False
        await _upgrade(bridges, rs_id, stored, sent)
        return True
    matches, current = keyed_match(box, stored or _NO_CREDENTIAL, sent)
    if matches and not current:
        await _upgrade(bridges, rs_id, stored or "", sent)
    return stored is not None and matches


async def _upgrade(bridges: BridgeService, rs_id: str, old_hash: str, sent: str) -> None:
    """Replaces an Argon2 hash, or one under a retired key, by the keyed hash under the
    current key. Only a plain password can be re-hashed in both forms: an MD5 sign-in
    keeps the old hash until the bridge sends the password itself or it is re-issued."""
    if _MD5_HEX.match(sent):
        return
    new_hash = hash_sirs_password(bridges.secret_box, sent)
    async with bridges.pool.acquire() as conn:
        await bridges.queries.replace_sirs_password_hash(
            conn, hospital_code=rs_id, old_hash=old_hash, new_hash=new_hash
        )
    log.info("SIRS password hash upgraded", hospital_code=rs_id)


async def sirs_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """401 for a missing or wrong login, 429 after too many failures, 403 for revoked
    credentials or an inactive hospital; before the body is read.

    X-Timestamp is accepted and not checked: public bridges send it as Unix seconds, as ISO
    text, or shifted by their time zone, so checking it would refuse bridges that work."""
    bridges = bridges_of(connection)
    rs_id = connection.headers.get("x-rs-id", "").strip()
    sent = connection.headers.get("x-pass", "").strip()
    if not (rs_id and sent):
        raise NotAuthenticated("Header X-rs-id dan X-pass wajib dikirim.")
    login = f"sirs:{rs_id[:_MAX_LOGIN]}"
    async with bridges.throttle.attempt(login, client_address(connection)) as attempt:
        row = None
        if len(rs_id) <= _MAX_LOGIN:
            async with bridges.pool.acquire() as conn:
                row = await bridges.queries.find_sirs_credential(conn, hospital_code=rs_id)
        stored = row.password_hash if row is not None else None
        if not await _password_ok(bridges, rs_id, stored, sent) or row is None:
            attempt.failed()
            raise NotAuthenticated(_REFUSED)
        attempt.succeeded()
    if row.revoked_at is not None:
        raise Forbidden(
            "Kredensial SIRS rumah sakit ini sudah dicabut; minta yang baru ke operator."
        )
    if not row.active:
        raise Forbidden("Rumah sakit ini tidak aktif; data tidak dapat dikirim.")
    set_actor(connection, BridgeActor(key_id=f"sirs:{rs_id}", hospital_code=rs_id))
    accept_credential(connection)
