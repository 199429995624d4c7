"""Failed sign-ins are counted per username and per client address in a fixed window; past
the limit, sign-in is refused (429) before the password is even checked, so guessing costs
the guesser time and bedsvc no Argon2 work."""

from __future__ import annotations

import math

from litestar.exceptions import TooManyRequestsException

from bedsvc.settings import Settings
from bedsvc.store import Conn, Queries


async def refuse_if_throttled(
    conn: Conn, queries: Queries, settings: Settings, username: str, address: str
) -> None:
    limits = {
        "username": settings.sign_in_max_failures_per_user,
        "address": settings.sign_in_max_failures_per_address,
    }
    async for row in queries.sign_in_failures(
        conn, username=username, address=address, window=settings.sign_in_window_seconds
    ):
        if row.failures >= limits[row.scope]:
            retry_after = max(1, math.ceil(row.retry_after))
            raise TooManyRequestsException(
                detail=f"Too many failed sign-ins: try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )


async def count_failure(
    conn: Conn, queries: Queries, settings: Settings, username: str, address: str
) -> None:
    await queries.count_sign_in_failure(
        conn, username=username, address=address, window=settings.sign_in_window_seconds
    )


async def clear_failures(conn: Conn, queries: Queries, username: str) -> None:
    """A right password forgives the username's failures (not the address's)."""
    await queries.clear_sign_in_failures(conn, username=username)
