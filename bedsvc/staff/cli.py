"""`bedsvc users add|disable`: the same service functions as the admin API."""

from __future__ import annotations

import msgspec

from bedsvc.access.actor import OPERATOR
from bedsvc.access.throttle import SignInThrottle
from bedsvc.errors import invalid
from bedsvc.settings import Settings
from bedsvc.staff.users import (
    DEFAULT_PROFILE,
    HashProfile,
    IssuedLogin,
    UserRequest,
    add_user,
    disable_user,
    unlock_user,
)
from bedsvc.store import connect_pool, load_queries
from bedsvc.store.redis import connect_redis


async def add_from_cli(
    database_url: str, hospital_code: str, username: str, profile: HashProfile = DEFAULT_PROFILE
) -> IssuedLogin:
    try:
        request = msgspec.convert(
            {"hospital_code": hospital_code, "username": username}, UserRequest
        )
    except msgspec.ValidationError as exc:
        raise invalid("username", str(exc)) from None
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        return await add_user(pool, load_queries(), request, OPERATOR, profile)
    finally:
        await pool.close()


async def disable_from_cli(database_url: str, username: str) -> None:
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    try:
        await disable_user(pool, load_queries(), username, OPERATOR)
    finally:
        await pool.close()


async def unlock_from_cli(settings: Settings, username: str) -> None:
    database_url, _ = settings.urls()
    pool = await connect_pool(database_url, min_size=1, max_size=1)
    client = connect_redis(settings.redis)
    try:
        throttle = SignInThrottle(client, settings.redis.redis_prefix, settings.access)
        await unlock_user(pool, load_queries(), throttle, username, OPERATOR)
    finally:
        await client.aclose()
        await pool.close()
