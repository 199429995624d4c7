from __future__ import annotations

from pathlib import Path

import asyncpg
import asyncpg.pool
import msgspec

# What a function that runs queries takes: a plain connection or one borrowed from the pool.
Conn = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def sql_dir() -> Path:
    """sql/ of a source checkout, or its copy inside an installed wheel."""
    packaged = Path(__file__).resolve().parent.parent / "sql"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "sql"


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb values decode straight into Python objects with msgspec (faster than json).
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda v: msgspec.json.encode(v).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def connect_pool(dsn: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection
    )
    if pool is None:  # only when the pool is not awaited, which it is
        raise RuntimeError("asyncpg returned no pool")
    return pool
