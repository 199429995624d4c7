"""Bridge credentials: issued once, shown once, kept only encrypted (Aplicares) or hashed (SIRS)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network

import asyncpg
import msgspec

from bedsvc.access.actor import OPERATOR, record_event
from bedsvc.errors import NotFound, invalid, unknown_hospital
from bedsvc.secret_box import SecretBox
from bedsvc.store import Queries

_ALPHABET = string.ascii_letters + string.digits
_CONS_ID_TRIES = 5

# SIRS passwords are server-generated (24 letters and digits, about 143 bits), so nothing is
# gained by a slow hash: guessing one is hopeless either way, and a slow hash lets anyone who
# knows a hospital code burn the server's CPU. They are kept as HMAC-SHA256 under a key
# derived from BEDSVC_SECRET_KEY (the key file): a stolen database alone checks nothing.
SIRS_MAC_PURPOSE = "sirs-password"
SIRS_HASH_SCHEME = "hmac-sha256"


class AplicaresCredential(msgspec.Struct, frozen=True):
    cons_id: str
    secret: str


class SirsCredential(msgspec.Struct, frozen=True):
    rs_id: str
    password: str


def random_text(length: int) -> str:
    # Letters and digits only: SIMRS keep these in config files and forms of every kind.
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def md5_hex(text: str) -> str:
    # MD5 only because SIRS bridges send the password that way; it is hashed again below.
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def hash_sirs_password(box: SecretBox, password: str) -> str:
    """`hmac-sha256$<HMAC of the password>$<HMAC of its MD5 hex>`, under the current key:
    bridges send either form, and both are checked with one HMAC of what was sent."""
    key = box.mac_keys(SIRS_MAC_PURPOSE)[0]
    return f"{SIRS_HASH_SCHEME}${_mac(key, password)}${_mac(key, md5_hex(password))}"


def sirs_digests(box: SecretBox, sent: str) -> list[str]:
    """What a stored hash is compared with: the HMAC of `sent` under each configured key."""
    return [_mac(key, sent) for key in box.mac_keys(SIRS_MAC_PURPOSE)]


async def issue_aplicares(
    pool: asyncpg.Pool,
    queries: Queries,
    box: SecretBox,
    hospital_code: str,
    label: str = "",
    allowed: Sequence[IPv4Network | IPv6Network] = (),
) -> AplicaresCredential:
    """A numeric cons-id like BPJS's and a random secret, stored encrypted; with `allowed`,
    usable only from those addresses (the signature does not cover the body)."""
    async with pool.acquire() as conn:
        hospital = await queries.get_hospital(conn, code=hospital_code)
        if hospital is None:
            raise unknown_hospital(hospital_code)
        if not hospital.bpjs_ppk_code:
            raise invalid(
                "bpjs_ppk_code",
                f"hospital '{hospital_code}' has no BPJS PPK code; the Aplicares bridge finds "
                "hospitals by it, so register it first",
            )
        secret = random_text(32)
        for _ in range(_CONS_ID_TRIES):
            cons_id = str(10_000_000 + secrets.randbelow(90_000_000))
            try:
                await queries.insert_aplicares_credential(
                    conn,
                    cons_id=cons_id,
                    hospital_code=hospital_code,
                    secret_enc=box.encrypt(secret),
                    label=label,
                    allowed_addresses=list(allowed),
                )
            except asyncpg.UniqueViolationError:
                continue
            await record_event(
                conn, queries, OPERATOR, "aplicares.issue", cons_id, hospital_code, {"label": label}
            )
            return AplicaresCredential(cons_id=cons_id, secret=secret)
    raise RuntimeError("could not find a free cons-id")


async def issue_sirs(
    pool: asyncpg.Pool, queries: Queries, box: SecretBox, hospital_code: str, label: str = ""
) -> SirsCredential:
    """The login is the hospital's Kemenkes code; a new password replaces the previous one."""
    password = random_text(24)
    async with pool.acquire() as conn, conn.transaction():
        if await queries.get_hospital(conn, code=hospital_code) is None:
            raise unknown_hospital(hospital_code)
        await queries.upsert_sirs_credential(
            conn,
            hospital_code=hospital_code,
            password_hash=hash_sirs_password(box, password),
            label=label,
        )
        await record_event(
            conn, queries, OPERATOR, "sirs.issue", hospital_code, hospital_code, {"label": label}
        )
    return SirsCredential(rs_id=hospital_code, password=password)


async def revoke_aplicares(pool: asyncpg.Pool, queries: Queries, cons_id: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        hospital_code = await queries.revoke_aplicares_credential(conn, cons_id=cons_id)
        if hospital_code is None:
            raise NotFound(f"No API key or Aplicares cons-id '{cons_id}'.")
        await record_event(conn, queries, OPERATOR, "aplicares.revoke", cons_id, hospital_code)


async def revoke_sirs(pool: asyncpg.Pool, queries: Queries, hospital_code: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await queries.revoke_sirs_credential(conn, hospital_code=hospital_code) is None:
            raise NotFound(f"No SIRS credentials for hospital '{hospital_code}'.")
        await record_event(conn, queries, OPERATOR, "sirs.revoke", hospital_code, hospital_code)
