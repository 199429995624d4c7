"""X-cons-id, X-timestamp and X-signature, checked exactly as the BPJS web service does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.access.accepted import accept_credential
from bedsvc.access.actor import set_actor
from bedsvc.access.client_address import client_address
from bedsvc.bridges.actor import BridgeActor, checked_actor
from bedsvc.bridges.service import bridges_of
from bedsvc.errors import Forbidden, NotAuthenticated, NotFound
from bedsvc.text import is_code


class AplicaresActor(BridgeActor, frozen=True, kw_only=True):
    """`reported_at`: the request's X-timestamp, which its signature covers; the report time
    of what it writes."""

    reported_at: datetime


def aplicares_actor(request: Request[Any, Any, Any]) -> AplicaresActor:
    """The `actor` dependency of the Aplicares bridge's routes."""
    return checked_actor(request, AplicaresActor, "Aplicares")


def signature(secret: str, cons_id: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(secret, cons_id + "&" + timestamp)), as a SIMRS computes it."""
    digest = hmac.new(secret.encode(), f"{cons_id}&{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def signature_matches(secret: str, cons_id: str, timestamp: str, given: str) -> bool:
    expected = signature(secret, cons_id, timestamp).encode()
    return hmac.compare_digest(expected, given.strip().encode())


# Unix seconds, optionally with a fraction: anything else (nan, inf, 1e9, text) is refused.
_UNIX_SECONDS = re.compile(r"\A-?\d{1,12}(\.\d{1,9})?\Z")
# One answer for an unknown cons-id and a wrong signature: cons-ids are not to be probed.
_REFUSED = (
    "X-cons-id atau X-signature salah: periksa cons-id, secret key dan cara menghitungnya "
    "(Base64 dari HMAC-SHA256 atas cons-id&timestamp)."
)
# Signed with when the cons-id is unknown, so that it costs what a known one does.
_NO_SECRET = "-" * 32
_MAX_CONS_ID = 64


def parse_timestamp(stamp: str, now: datetime, max_skew_seconds: int) -> datetime:
    """The request's time; one outside the window is refused, which also limits replays.

    A time ahead of the clock (within the window) is read as now: it becomes the wards'
    report time, and a report from the future would make honest ones look stale."""
    if not _UNIX_SECONDS.match(stamp):
        raise NotAuthenticated(
            f"X-timestamp '{stamp[:40]}' tidak valid: kirim detik Unix (UTC), misalnya "
            f"{int(now.timestamp())}."
        )
    seconds = float(stamp)
    skew = seconds - now.timestamp()
    if abs(skew) > max_skew_seconds:
        raise NotAuthenticated(
            f"X-timestamp berbeda {abs(skew):.0f} detik dari jam server (batas "
            f"{max_skew_seconds} detik); periksa jam SIMRS dan zona waktunya (detik Unix, UTC)."
        )
    return min(datetime.fromtimestamp(seconds, UTC), now)


def _headers(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str, str]:
    headers = connection.headers
    cons_id = headers.get("x-cons-id", "").strip()
    stamp = headers.get("x-timestamp", "").strip()
    given = headers.get("x-signature", "")
    if not (cons_id and stamp and given.strip()):
        raise NotAuthenticated("Header X-cons-id, X-timestamp dan X-signature wajib dikirim.")
    return cons_id, stamp, given


def address_allowed(address: str, allowed: list[IPv4Network | IPv6Network]) -> bool:
    """No list allows any address; otherwise the client's must lie in one of the networks."""
    if not allowed:
        return True
    try:
        client = ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in allowed)


async def aplicares_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """401 for a bad signature, time or cons-id (alike), 429 after too many failures; 403
    revoked, another hospital's, an inactive hospital or an address not allowed; 404 for an
    unknown PPK code. Runs before the body is read."""
    bridges = bridges_of(connection)
    max_skew = bridges.settings.bridges.aplicares_max_skew_seconds
    cons_id, stamp, given = _headers(connection)
    reported_at = parse_timestamp(stamp, datetime.now(UTC), max_skew)
    address = client_address(connection)
    login = f"aplicares:{cons_id[:_MAX_CONS_ID]}"
    async with (
        bridges.throttle.attempt(login, address) as attempt,
        bridges.pool.acquire() as conn,
    ):
        row = None
        if len(cons_id) <= _MAX_CONS_ID:
            row = await bridges.queries.find_aplicares_credential(conn, cons_id=cons_id)
        secret = bridges.secret_box.decrypt(row.secret_enc) if row else _NO_SECRET
        if not signature_matches(secret, cons_id, stamp, given) or row is None:
            attempt.failed()
            raise NotAuthenticated(_REFUSED)
        attempt.succeeded()
        if row.revoked_at is not None:
            raise Forbidden("X-cons-id ini sudah dicabut; minta kredensial baru ke operator.")
        if not row.active:
            raise Forbidden("Rumah sakit ini tidak aktif; data tidak dapat dikirim.")
        if not address_allowed(address, row.allowed_addresses):
            raise Forbidden(f"X-cons-id ini tidak boleh dipakai dari alamat {address}.")
        kodeppk = connection.path_params.get("kodeppk")
        if kodeppk is not None and kodeppk != row.bpjs_ppk_code:
            known = is_code(kodeppk, max_length=32) and await bridges.queries.hospital_by_ppk_code(
                conn, bpjs_ppk_code=kodeppk
            )
            if not known:
                raise NotFound(f"Kode PPK '{kodeppk}' tidak terdaftar.")
            raise Forbidden(f"X-cons-id ini bukan milik PPK '{kodeppk}'.")
    actor = AplicaresActor(
        key_id=f"aplicares:{cons_id}", hospital_code=row.hospital_code, reported_at=reported_at
    )
    set_actor(connection, actor)
    accept_credential(connection)
