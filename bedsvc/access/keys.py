"""API keys: issued once, stored only as a SHA-256 hash, scoped to a role and a hospital."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, Literal, NamedTuple

import asyncpg
import msgspec
from cachetools import TTLCache
from litestar.connection import ASGIConnection

from bedsvc.errors import Forbidden, NotAuthenticated, inactive_hospital, unknown_hospital
from bedsvc.store import Conn, Queries
from bedsvc.store.queries import FindHospitalKeysRow

Role = Literal["hospital", "monitor", "admin"]
TOKEN_PREFIX = "bsk_"  # noqa: S105 - a marker for secret scanners, not a secret


class ApiKey(msgspec.Struct, frozen=True):
    id: str
    role: Role
    hospital_code: str | None
    revoked_at: datetime | None


class IssuedKey(msgspec.Struct, frozen=True):
    """The only time a key is shown: store it now, bedsvc keeps just its hash."""

    key_id: str
    key: str
    role: Role
    hospital_code: str | None


def hash_token(token: str) -> bytes:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough: there is nothing to guess.
    return hashlib.sha256(token.encode()).digest()


async def issue_key(
    conn: Conn,
    queries: Queries,
    role: Role,
    hospital_code: str | None = None,
    label: str = "",
) -> IssuedKey:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(6)
    await queries.insert_key(
        conn,
        id=key_id,
        key_hash=hash_token(token),
        role=role,
        hospital_code=hospital_code,
        label=label,
    )
    return IssuedKey(key_id=key_id, key=token, role=role, hospital_code=hospital_code)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send the API key as 'Authorization: Bearer <key>'.")
    return token.strip()


async def find_key(conn: Conn, queries: Queries, token: str) -> ApiKey:
    digest = hash_token(token)
    row = await queries.find_key(conn, key_hash=digest)
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise NotAuthenticated("Unknown API key.")
    return msgspec.convert(row, ApiKey, from_attributes=True)


def require_role(key: ApiKey, role: Role) -> None:
    if key.revoked_at is not None:
        raise Forbidden("This API key was revoked.")
    if key.role != role:
        raise Forbidden(f"This route needs a key with role '{role}'.")


def require_hospital(key: ApiKey, hospital_code: str) -> None:
    require_role(key, "hospital")
    if key.hospital_code != hospital_code:
        raise Forbidden("This key may only report for its own hospital.")


class HospitalAccess(msgspec.Struct, frozen=True):
    """A push's credentials as checked against the hospital it names."""

    key: ApiKey
    hospital_exists: bool
    hospital_active: bool

    def require(self, hospital_code: str) -> None:
        """404 for an unknown hospital, 403 for a key not its own, revoked, or an inactive
        hospital."""
        if not self.hospital_exists:
            raise unknown_hospital(hospital_code)
        require_hospital(self.key, hospital_code)
        if not self.hospital_active:
            raise inactive_hospital(hospital_code)


class KeyCache:
    """Pushes come often from few keys: each key is checked against PostgreSQL at most once
    per `ttl` seconds, so a revocation (or a hospital set inactive) takes effect within it.
    Unknown keys are not remembered.

    The checks that miss the cache at the same moment, before a query starts or while one is
    under way, are asked together (at most `max_batch` a query): a burst of hospitals, each
    posting its first report in a while, costs a few queries instead of one each."""

    def __init__(self, ttl: float, max_entries: int = 10_000, max_batch: int = 256) -> None:
        self._checked: TTLCache[tuple[bytes, str], HospitalAccess] = TTLCache(max_entries, ttl)
        self.enabled = ttl > 0
        self.max_batch = max_batch
        self._waiting: list[_Lookup] = []
        self._looking: asyncio.Task[None] | None = None

    async def hospital_access(
        self, pool: asyncpg.Pool, queries: Queries, token: str, hospital_code: str
    ) -> HospitalAccess:
        digest = hash_token(token)
        cached = self._checked.get((digest, hospital_code))
        if cached is not None:
            return cached
        found: asyncio.Future[FindHospitalKeysRow] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Lookup(digest, hospital_code, found))
        if self._looking is None:
            # The worker has one pool and one set of queries: those of the miss that starts
            # the lookups serve every miss until they end.
            self._looking = asyncio.create_task(self._look_up(pool, queries))
        row = await found
        if row.key_hash is None or not hmac.compare_digest(row.key_hash, digest):
            raise NotAuthenticated("Unknown API key.")
        access = HospitalAccess(
            # The role is checked against the Literal here, once per push that misses the cache.
            key=msgspec.convert(row, ApiKey, from_attributes=True),
            hospital_exists=row.hospital_exists,
            hospital_active=row.hospital_active,
        )
        if self.enabled:
            self._checked[(digest, hospital_code)] = access
        return access

    async def _look_up(self, pool: asyncpg.Pool, queries: Queries) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                try:
                    async with pool.acquire() as conn:
                        rows = queries.find_hospital_keys(
                            conn,
                            key_hashes=[lookup.digest for lookup in batch],
                            hospital_codes=[lookup.hospital_code for lookup in batch],
                        )
                        found = [row async for row in rows]
                except asyncio.CancelledError:
                    for lookup in [*batch, *self._waiting]:
                        lookup.found.cancel()
                    self._waiting.clear()
                    raise
                except Exception as exc:  # noqa: BLE001 - each push answers it, as its own
                    for lookup in batch:
                        if not lookup.found.done():
                            lookup.found.set_exception(exc)
                    continue
                for lookup, row in zip(batch, found, strict=True):
                    if not lookup.found.done():
                        lookup.found.set_result(row)
        finally:
            self._looking = None


class _Lookup(NamedTuple):
    digest: bytes
    hospital_code: str
    found: asyncio.Future[FindHospitalKeysRow]


async def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], pool: asyncpg.Pool, queries: Queries, role: Role
) -> ApiKey:
    token = bearer_token(connection)
    async with pool.acquire() as conn:
        key = await find_key(conn, queries, token)
    require_role(key, role)
    return key
