"""`bedsvc check`: settings, PostgreSQL, Redis and the schema, in plain words, with an exit
status a deployment script can act on."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import asyncpg
from click.testing import CliRunner, Result

from bedsvc.cli import main
from bedsvc.settings import Settings
from tests.support import with_database
from tests.support.live import free_port


async def check(tmp_path: Path, **env: str) -> Result:
    env = {"BEDSVC_DATA_DIR": str(tmp_path), "BEDSVC_LOG_LEVEL": "WARNING"} | env
    return await asyncio.to_thread(CliRunner().invoke, main, ["check"], env=env)


async def test_a_working_setup_passes(settings: Settings, tmp_path: Path) -> None:
    database_url, redis_url = settings.urls()
    result = await check(
        tmp_path,
        BEDSVC_DATABASE_URL=database_url,
        BEDSVC_REDIS_URL=redis_url,
        BEDSVC_TRUSTED_PROXIES="127.0.0.1",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("ok    PostgreSQL at") for line in lines), result.output
    assert "ok    schema: up to date" in lines
    assert any(line.startswith("ok    Redis at") for line in lines), result.output
    assert not (tmp_path / "secret.key").exists()  # read when there, never created


async def test_what_is_wrong_is_said_plainly(
    server_database_url: str, settings: Settings, tmp_path: Path
) -> None:
    name = f"bedsvc_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        result = await check(
            tmp_path,
            BEDSVC_DATABASE_URL=with_database(server_database_url, name),
            BEDSVC_REDIS_URL=f"redis://:s3cret-word@127.0.0.1:{free_port()}/0",
            BEDSVC_SECRET_KEY="not-a-fernet-key",
        )
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    assert result.exit_code == 1
    output = result.output
    assert "FAIL  schema:" in output
    assert "run `bedsvc migrate`" in output
    assert "FAIL  Redis at 127.0.0.1:" in output
    assert "is it running?" in output
    assert "FAIL  secret key: BEDSVC_SECRET_KEY must be Fernet keys" in output
    assert "s3cret-word" not in output


async def test_a_bad_setting_names_its_variable(tmp_path: Path) -> None:
    result = await check(
        tmp_path, BEDSVC_TRUSTED_PROXIES="10.0.0.0/8,nginx", BEDSVC_DB_POOL_MAX="0"
    )
    assert result.exit_code == 1
    assert "FAIL  BEDSVC_TRUSTED_PROXIES: Value error, not an address or CIDR: 'nginx'" in (
        result.output
    )
    assert "FAIL  BEDSVC_DB_POOL_MAX: Input should be greater than or equal to 1" in result.output
