"""Sessions of ward-staff users, kept in PostgreSQL so that signing out or disabling a user
ends them at once, on every worker.

The cookie is `HttpOnly` and `SameSite=Strict` (and `Secure` over TLS); every request that
changes something must also send the session's CSRF token in `X-CSRF-Token`, which a page of
another origin cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from bedsvc.access.actor import Actor
from bedsvc.access.gate import gate_of
from bedsvc.errors import Forbidden, NotAuthenticated
from bedsvc.store import Conn, Queries

COOKIE_NAME = "bedsvc_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HospitalRef(msgspec.Struct, frozen=True):
    code: str
    name: str


class SessionInfo(msgspec.Struct, frozen=True):
    """What the entry page needs after sign-in; the session token itself is only in the cookie."""

    username: str
    hospital: HospitalRef
    csrf_token: str
    expires_at: datetime


class StoredSession(msgspec.Struct, frozen=True):
    username: str
    hospital_code: str
    hospital_name: str
    csrf_token: str
    expires_at: datetime

    def info(self) -> SessionInfo:
        return SessionInfo(
            username=self.username,
            hospital=HospitalRef(code=self.hospital_code, name=self.hospital_name),
            csrf_token=self.csrf_token,
            expires_at=self.expires_at,
        )


def hash_session_token(token: str) -> bytes:
    # 256 random bits: a plain SHA-256 is enough, there is nothing to guess.
    return hashlib.sha256(token.encode()).digest()


async def start_session(
    conn: Conn, queries: Queries, username: str, hospital: HospitalRef, lifetime: int
) -> tuple[str, SessionInfo]:
    """The cookie's token (shown to nobody else) and what the page is told."""
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    expires_at = await queries.insert_session(
        conn,
        token_hash=hash_session_token(token),
        username=username,
        csrf_token=csrf_token,
        lifetime=lifetime,
    )
    info = SessionInfo(
        username=username, hospital=hospital, csrf_token=csrf_token, expires_at=expires_at
    )
    return token, info


async def find_session(conn: Conn, queries: Queries, token: str) -> StoredSession | None:
    digest = hash_session_token(token)
    row = await queries.find_session(conn, token_hash=digest)
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return StoredSession(
        username=row.username,
        hospital_code=row.hospital_code,
        hospital_name=row.hospital_name,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def session_cookie(token: str, max_age: int, secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE_NAME,
        value=token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def cleared_cookie(secure: bool) -> Cookie:
    return Cookie(
        key=COOKIE_NAME,
        value="",
        max_age=0,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def over_tls(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.scope.get("scheme") in ("https", "wss")


def require_csrf(connection: ASGIConnection[Any, Any, Any, Any], session: StoredSession) -> None:
    if connection.scope.get("method", "GET") in _SAFE_METHODS:
        return
    sent = connection.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise Forbidden("Send the X-CSRF-Token header that sign-in returned.")


async def current_session(connection: ASGIConnection[Any, Any, Any, Any]) -> StoredSession:
    """The signed-in session of this request (CSRF-checked for a change), or 401."""
    token = connection.cookies.get(COOKIE_NAME)
    if not token:
        raise NotAuthenticated("Not signed in.")
    gate = gate_of(connection)
    async with gate.pool.acquire() as conn:
        session = await find_session(conn, gate.queries, token)
    if session is None:
        raise NotAuthenticated("The session has ended: sign in again.")
    require_csrf(connection, session)
    return session


async def session_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    """The ward-staff user behind a request that carries the session cookie, or None when it
    carries none (or an `Authorization` header, which then decides).

    401 for a session that has ended or never existed, 403 for a change without the session's
    `X-CSRF-Token`. The caller still checks `actor.hospital_code` against the route's.
    """
    if "authorization" in connection.headers or COOKIE_NAME not in connection.cookies:
        return None
    session = await current_session(connection)
    return Actor(username=session.username, hospital_code=session.hospital_code)
