"""Ward-staff users: one per person, issued by an operator, the password shown once and kept
only as an Argon2 hash."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from functools import cache
from typing import Annotated, Literal

import asyncpg
import msgspec
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from msgspec import Meta

from bedsvc.access.actor import Actor, record_event
from bedsvc.access.throttle import SignInThrottle
from bedsvc.errors import BedsvcError, NotFound, unknown_hospital
from bedsvc.store import Conn, Queries
from bedsvc.text import Code

Username = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._\-]*$",
        description="Lower-case letters, digits, '.', '_' and '-'",
    ),
]
HospitalCode = Code

# No 0/o, 1/l/i: a password read off a slip of paper is typed on a phone.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet


class UsernameTaken(BedsvcError):
    status_code = 409
    title = "Conflict"


class UserRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    hospital_code: HospitalCode
    username: Username


class IssuedLogin(msgspec.Struct, frozen=True):
    """The only time the password is shown: bedsvc keeps just its hash."""

    username: str
    password: str
    hospital_code: str


class UserDisabled(msgspec.Struct, frozen=True):
    username: str
    disabled: bool


class UserUnlocked(msgspec.Struct, frozen=True):
    username: str
    unlocked: bool


class StaffUser(msgspec.Struct, frozen=True):
    username: str
    hospital_code: str
    hospital_name: str
    password_hash: str
    disabled_at: datetime | None


HashProfile = Literal["rfc_9106_low_memory", "cheapest"]
DEFAULT_PROFILE: HashProfile = "rfc_9106_low_memory"
_PROFILES = {"rfc_9106_low_memory": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}


@cache
def hasher(profile: HashProfile = DEFAULT_PROFILE) -> PasswordHasher:
    """BEDSVC_PASSWORD_HASH_PROFILE's hasher; the cheapest one keeps a test suite fast."""
    return PasswordHasher.from_parameters(_PROFILES[profile])


@cache
def _unknown_user_hash(profile: HashProfile) -> str:
    """Verified against when the username is unknown, so that the answer takes as long."""
    return hasher(profile).hash(secrets.token_urlsafe(16))


def new_password() -> str:
    # 16 characters of 31: about 79 bits, in groups of four to read aloud.
    chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


async def hash_password(password: str, profile: HashProfile = DEFAULT_PROFILE) -> str:
    # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
    return await asyncio.to_thread(hasher(profile).hash, password)


async def password_matches(
    user: StaffUser | None, password: str, profile: HashProfile = DEFAULT_PROFILE
) -> bool:
    stored = user.password_hash if user is not None else _unknown_user_hash(profile)
    try:
        await asyncio.to_thread(hasher(profile).verify, stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


async def find_user(conn: Conn, queries: Queries, username: str) -> StaffUser | None:
    row = await queries.find_staff_user(conn, username=username)
    return None if row is None else msgspec.convert(row, StaffUser, from_attributes=True)


async def rehash_if_needed(
    conn: Conn,
    queries: Queries,
    user: StaffUser,
    password: str,
    profile: HashProfile = DEFAULT_PROFILE,
) -> None:
    if hasher(profile).check_needs_rehash(user.password_hash):
        await queries.update_password_hash(
            conn, username=user.username, password_hash=await hash_password(password, profile)
        )


async def add_user(
    pool: asyncpg.Pool,
    queries: Queries,
    request: UserRequest,
    actor: Actor,
    profile: HashProfile = DEFAULT_PROFILE,
) -> IssuedLogin:
    """A new user, or a disabled one enabled again with a new password."""
    password = new_password()
    password_hash = await hash_password(password, profile)
    async with pool.acquire() as conn, conn.transaction():
        if await queries.get_hospital(conn, code=request.hospital_code) is None:
            raise unknown_hospital(request.hospital_code)
        issued = await queries.insert_staff_user(
            conn,
            username=request.username,
            hospital_code=request.hospital_code,
            password_hash=password_hash,
        )
        if issued is None:
            raise UsernameTaken(f"The username '{request.username}' is in use.")
        await record_event(
            conn, queries, actor, "user.add", request.username, request.hospital_code
        )
    return IssuedLogin(
        username=request.username, password=password, hospital_code=request.hospital_code
    )


async def disable_user(pool: asyncpg.Pool, queries: Queries, username: str, actor: Actor) -> None:
    """Ends the user's sessions at once; the history keeps naming the user."""
    async with pool.acquire() as conn, conn.transaction():
        hospital_code = await queries.disable_staff_user(conn, username=username)
        if hospital_code is None:
            raise NotFound(f"No user '{username}'.")
        await queries.delete_user_sessions(conn, username=username)
        await record_event(conn, queries, actor, "user.disable", username, hospital_code)


def staff_login(username: str) -> str:
    """The login the sign-in throttle counts a ward-staff user's failures under."""
    return f"staff:{username}"


async def unlock_user(
    pool: asyncpg.Pool, queries: Queries, throttle: SignInThrottle, username: str, actor: Actor
) -> UserUnlocked:
    """Forgets the user's failed sign-ins, from every address, so that the user may sign in
    at once (the addresses' own counts stay: they may be guessing other logins)."""
    async with pool.acquire() as conn, conn.transaction():
        user = await find_user(conn, queries, username)
        if user is None:
            raise NotFound(f"No user '{username}'.")
        await record_event(conn, queries, actor, "user.unlock", username, user.hospital_code)
    await throttle.unlock(staff_login(username))
    return UserUnlocked(username=username, unlocked=True)
