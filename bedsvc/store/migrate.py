"""Applies the numbered files of sql/migrations once each, in order.

Small enough to keep here: the migration libraries for asyncpg we looked at neither take an
advisory lock nor accept plain numbered files, and both are what this project needs.
"""

from __future__ import annotations

import re

import asyncpg
import structlog

from bedsvc.store.db import sql_dir
from bedsvc.store.named import load_queries
from bedsvc.store.queries import Queries

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every bedsvc instance.
_MIGRATION_LOCK_ID = 0x62656473  # "beds"
_FILE_NAME = re.compile(r"^(\d+)_[\w-]+\.sql$")


def migration_files() -> list[tuple[int, str, str]]:
    found: dict[int, tuple[int, str, str]] = {}
    for path in sorted((sql_dir() / "migrations").iterdir()):
        match = _FILE_NAME.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in found:
            # Applied migrations are recorded by number: a second file would never run.
            raise RuntimeError(f"two migrations numbered {number}: {found[number][1]}, {path.name}")
        found[number] = (number, path.name, path.read_text(encoding="utf-8"))
    return sorted(found.values())


async def migrate(dsn: str) -> list[str]:
    """Brings the database to the newest schema; returns the files it applied."""
    conn = await asyncpg.connect(dsn)
    try:
        # Two instances starting at once: the second waits here, then finds nothing to do.
        queries = load_queries()
        await queries.lock_migrations(conn, lock_id=_MIGRATION_LOCK_ID)
        try:
            return await _apply_pending(conn, queries)
        finally:
            await queries.unlock_migrations(conn, lock_id=_MIGRATION_LOCK_ID)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection, queries: Queries) -> list[str]:
    await queries.create_schema_migrations(conn)
    done = {row.version async for row in queries.applied_migrations(conn)}
    applied = []
    for number, name, text in migration_files():
        if number in done:
            continue
        async with conn.transaction():
            await conn.execute(text)
            await queries.record_migration(conn, version=number, name=name)
        log.info("migration applied", migration=name)
        applied.append(name)
    return applied
