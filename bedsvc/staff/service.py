"""What the ward-staff routes use (sign-in and sessions, and the operators' user routes),
built once per worker."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bedsvc.access.throttle import SignInThrottle
from bedsvc.staff.users import HashProfile
from bedsvc.store import Queries


@dataclass(frozen=True, slots=True)
class StaffService:
    pool: asyncpg.Pool
    queries: Queries
    throttle: SignInThrottle
    password_hash_profile: HashProfile
    session_seconds: int
