"""The `bedsvc` command as an operator runs it: migrations, the CSV import and keys."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.settings import Settings
from bedsvc.store import migrate
from bedsvc.store.migrate import migration_files
from tests.support import Factory, bearer, push_until_refused, report, ward, with_database
from tests.support.cli import run_cli

Client = AsyncTestClient[Litestar]

CSV_HEADER = "code,name,kind,region_code,address,phone,lat,lon,bpjs_ppk_code\n"


async def test_migrate_is_idempotent(settings: Settings) -> None:
    result = await run_cli(settings, "migrate")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "schema is up to date"


async def test_instances_starting_together_migrate_once(server_database_url: str) -> None:
    name = f"bedsvc_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_database_url, name)
        results = await asyncio.gather(*(migrate(url) for _ in range(4)))

        assert sorted(len(applied) for applied in results) == [0, 0, 0, len(migration_files())]
        conn = await asyncpg.connect(url)
        try:
            versions = await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
        finally:
            await conn.close()
        assert [r["version"] for r in versions] == [number for number, _, _ in migration_files()]
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_import_keeps_good_rows_and_reports_bad_ones_by_line(
    settings: Settings, tmp_path: Path, client: Client
) -> None:
    csv_file = tmp_path / "hospitals.csv"
    csv_file.write_text(
        CSV_HEADER
        + '3274011,RSD Gunung Jati,RSUD,3274,"Jl. Kesambi No. 56, Kota Cirebon",'
        + "0231-206330,-6.72143,108.55012,0122R001\n"
        + "3274012,,RS Swasta,3274,,,,,\n"
        + "3274013,RS Putera Bahagia,RS Swasta,3274,,,utara,108.5,\n"
        + "3274014,RS Pelabuhan,RS BUMN,3274,,,-6.71,108.56,\n",
        encoding="utf-8",
    )

    result = await run_cli(settings, "hospitals", "import", str(csv_file))

    assert result.exit_code == 1
    assert "line 3:" in result.output
    assert "line 4:" in result.output
    assert "imported 2 hospitals, 2 rows rejected" in result.output
    csv_file.write_text(CSV_HEADER + "3274011,RSUD Gunung Jati,RSUD,3274,,,,,0122R001\n")
    again = await run_cli(settings, "hospitals", "import", str(csv_file))
    assert again.exit_code == 0, again.output
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        rows = await conn.fetch("SELECT code, name, lat FROM hospitals ORDER BY code")
    finally:
        await conn.close()
    assert [(r["code"], r["name"], r["lat"]) for r in rows] == [
        ("3274011", "RSUD Gunung Jati", None),
        ("3274014", "RS Pelabuhan", -6.71),
    ]


async def test_issued_key_pushes_until_revoked(
    settings: Settings, factory: Factory, client: Client
) -> None:
    code = await factory.hospital()

    issued = await run_cli(settings, "keys", "issue", "--hospital", code)

    assert issued.exit_code == 0, issued.output
    id_line, key_line = issued.output.splitlines()
    key_id, key = id_line.removeprefix("key_id: "), key_line.removeprefix("key: ")
    assert len(key) >= 32
    url = f"/api/v1/hospitals/{code}/occupancy"
    assert (await client.post(url, json=report(ward()), headers=bearer(key))).status_code == 200
    revoked = await run_cli(settings, "keys", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    refused = await push_until_refused(
        client, code, key, within=settings.access.key_cache_seconds + 0.5
    )
    assert refused.status_code == 403


async def test_keys_issue_needs_one_scope(settings: Settings) -> None:
    neither = await run_cli(settings, "keys", "issue")
    both = await run_cli(settings, "keys", "issue", "--hospital", "3274011", "--role", "admin")
    monitor = await run_cli(settings, "keys", "issue", "--role", "monitor")

    assert neither.exit_code == 2
    assert both.exit_code == 2
    assert monitor.exit_code == 0
    assert monitor.output.startswith("key_id: key_")
