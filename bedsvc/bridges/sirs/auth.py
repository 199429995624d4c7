"""X-rs-id (the Kemenkes hospital code) and X-pass (the password, plain or its MD5 hex)."""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from argon2.exceptions import InvalidHashError, VerificationError
from cachetools import TTLCache
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.bridges.credentials import md5_hex, password_hasher
from bedsvc.errors import Forbidden, NotAuthenticated
from bedsvc.services import get_services

_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_REFUSED = "X-rs-id atau X-pass salah."

# Argon2 costs about 150 ms of CPU per check on a 2-core machine (measured with
# `password_matches` in a loop), and SIMRS bridges send one request per room. So a login that
# passed is remembered for a while, keyed by a digest of (stored hash, login, X-pass): a new
# password changes the stored hash and so misses; revocation is read from the row every time.
_verified: TTLCache[bytes, bool] = TTLCache(maxsize=4096, ttl=600)


def _cache_key(password_hash: str, rs_id: str, sent: str) -> bytes:
    return hashlib.sha256("\0".join((password_hash, rs_id, sent)).encode()).digest()


def password_matches(password_hash: str, sent: str) -> bool:
    """Bridges send the password itself or its MD5 hex digest; the stored hash is of the
    digest, so both forms are checked against it (the digest form first when it looks like one)."""
    candidates = [sent.lower()] if _MD5_HEX.match(sent) else []
    candidates.append(md5_hex(sent))
    for candidate in candidates:
        try:
            return password_hasher.verify(password_hash, candidate)
        except VerificationError:
            continue
        except InvalidHashError:
            return False
    return False


async def sirs_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """401 for a missing or wrong login, 403 for revoked credentials; before the body is read.

    X-Timestamp is accepted and not checked: public bridges send it as Unix seconds, as ISO
    text, or shifted by their time zone, so checking it would refuse bridges that work."""
    services = get_services(connection.app.state)
    rs_id = connection.headers.get("x-rs-id", "").strip()
    sent = connection.headers.get("x-pass", "").strip()
    if not (rs_id and sent):
        raise NotAuthenticated("Header X-rs-id dan X-pass wajib dikirim.")
    async with services.pool.acquire() as conn:
        row = await services.queries.find_sirs_credential(conn, hospital_code=rs_id)
    if row is None:
        raise NotAuthenticated(_REFUSED)
    key = _cache_key(row["password_hash"], rs_id, sent)
    if key not in _verified:
        # Off the event loop: Argon2 is slow on purpose.
        if not await asyncio.to_thread(password_matches, row["password_hash"], sent):
            raise NotAuthenticated(_REFUSED)
        _verified[key] = True
    if row["revoked_at"] is not None:
        raise Forbidden(
            "Kredensial SIRS rumah sakit ini sudah dicabut; minta yang baru ke operator."
        )
    connection.state.hospital_code = rs_id
    connection.state.key_id = f"sirs:{rs_id}"
