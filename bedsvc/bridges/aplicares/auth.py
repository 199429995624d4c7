"""X-cons-id, X-timestamp and X-signature, checked exactly as the BPJS web service does."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from bedsvc.errors import Forbidden, NotAuthenticated, NotFound
from bedsvc.services import get_services


def signature(secret: str, cons_id: str, timestamp: str) -> str:
    """Base64(HMAC-SHA256(secret, cons_id + "&" + timestamp)), as a SIMRS computes it."""
    digest = hmac.new(secret.encode(), f"{cons_id}&{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def signature_matches(secret: str, cons_id: str, timestamp: str, given: str) -> bool:
    expected = signature(secret, cons_id, timestamp).encode()
    return hmac.compare_digest(expected, given.strip().encode())


def parse_timestamp(stamp: str, now: datetime, max_skew_seconds: int) -> datetime:
    """The request's time; one outside the window is refused, which also stops replays."""
    try:
        seconds = float(stamp)
    except ValueError:
        raise NotAuthenticated(
            f"X-timestamp '{stamp}' tidak valid: kirim detik Unix (UTC), misalnya "
            f"{int(now.timestamp())}."
        ) from None
    skew = seconds - now.timestamp()
    if abs(skew) > max_skew_seconds:
        raise NotAuthenticated(
            f"X-timestamp berbeda {abs(skew) / 60:.0f} menit dari jam server (batas "
            f"{max_skew_seconds // 60} menit); periksa jam SIMRS dan zona waktunya "
            "(detik Unix, UTC)."
        )
    return datetime.fromtimestamp(seconds, UTC)


def _headers(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str, str]:
    headers = connection.headers
    cons_id = headers.get("x-cons-id", "").strip()
    stamp = headers.get("x-timestamp", "").strip()
    given = headers.get("x-signature", "")
    if not (cons_id and stamp and given.strip()):
        raise NotAuthenticated("Header X-cons-id, X-timestamp dan X-signature wajib dikirim.")
    return cons_id, stamp, given


async def aplicares_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """401 for a bad signature, time or cons-id; 403 revoked or another hospital's; 404 for
    an unknown PPK code. Runs before the body is read."""
    services = get_services(connection.app.state)
    cons_id, stamp, given = _headers(connection)
    reported_at = parse_timestamp(
        stamp, datetime.now(UTC), services.settings.aplicares_max_skew_seconds
    )
    async with services.pool.acquire() as conn:
        row = await services.queries.find_aplicares_credential(conn, cons_id=cons_id)
        if row is None:
            raise NotAuthenticated(f"X-cons-id '{cons_id}' tidak dikenal.")
        secret = services.secret_box.decrypt(row["secret_enc"])
        if not signature_matches(secret, cons_id, stamp, given):
            raise NotAuthenticated(
                "X-signature tidak cocok: periksa secret key dan cara menghitungnya "
                "(Base64 dari HMAC-SHA256 atas cons-id&timestamp)."
            )
        if row["revoked_at"] is not None:
            raise Forbidden("X-cons-id ini sudah dicabut; minta kredensial baru ke operator.")
        kodeppk = connection.path_params.get("kodeppk")
        if kodeppk is not None and kodeppk != row["bpjs_ppk_code"]:
            if await services.queries.hospital_by_ppk_code(conn, bpjs_ppk_code=kodeppk) is None:
                raise NotFound(f"Kode PPK '{kodeppk}' tidak terdaftar.")
            raise Forbidden(f"X-cons-id ini bukan milik PPK '{kodeppk}'.")
    connection.state.hospital_code = row["hospital_code"]
    connection.state.ppk_code = row["bpjs_ppk_code"]
    connection.state.key_id = f"aplicares:{cons_id}"
    connection.state.reported_at = reported_at
