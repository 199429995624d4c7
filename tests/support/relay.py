"""The national registries as the relay meets them: other bedsvc instances whose bridges speak
SIRS Online and Aplicares, each a `bedsvc serve` process on a database of its own, which a
test can kill and start again on the same port and database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bedsvc.app import build_services
from bedsvc.bridges.credentials import issue_aplicares, issue_sirs
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.store import migrate
from tests.support.factory import Factory
from tests.support.live import free_port
from tests.support.serve import server_env
from tests.support.servers import empty_state, with_database

SIRS_PREFIX = "/sirs/fo/index.php"


class RegistryServer:
    """One registry instance; `start` after `kill` serves the same port and database."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.settings = settings
        self.port = free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        self.env = server_env(
            settings,
            data_dir,
            BEDSVC_SECRET_KEY=settings.server.secret_key.get_secret_value()
            if settings.server.secret_key
            else "",
            BEDSVC_LIVE_WORKERS="0",
            BEDSVC_ALERT_RULES="",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def sirs_url(self) -> str:
        return self.http + SIRS_PREFIX

    @property
    def aplicares_url(self) -> str:
        return self.http + "/aplicaresws/rest"

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bedsvc", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # its workers too are killed as one group
        )

    async def start(self, timeout: float = 60) -> None:
        self.process = self._spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient() as http:
            while loop.time() < deadline:
                assert self.process.poll() is None, "the registry exited"
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{self.http}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("the registry did not become ready")

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    async def services(self) -> Services:
        return await build_services(self.settings)

    async def classes(self, http: httpx.AsyncClient, code: str) -> dict[str, tuple[int, int]]:
        """What the registry shows of a hospital: bed class → (capacity, free beds)."""
        response = await http.get(f"{self.http}/api/v1/hospitals/{code}")
        if response.status_code != 200:
            return {}
        totals: dict[str, tuple[int, int]] = {}
        for ward in response.json().get("wards", []):
            capacity, free = totals.get(ward["bed_class"], (0, 0))
            totals[ward["bed_class"]] = (capacity + ward["capacity"], free + ward["available"])
        return totals


async def _database(server_database_url: str, name: str) -> str:
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_database_url, name)
    await migrate(url)
    return url


@pytest.fixture(scope="session")
async def registry_databases(server_database_url: str) -> AsyncIterator[dict[str, str]]:
    """A database for each registry, for the whole session (emptied per test)."""
    suffix = secrets.token_hex(4)
    names = {registry: f"bedsvc_test_{registry}_{suffix}" for registry in ("sirs", "aplicares")}
    urls = {
        registry: await _database(server_database_url, name) for registry, name in names.items()
    }
    yield urls
    admin = await asyncpg.connect(server_database_url)
    try:
        for name in names.values():
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def registry_settings(settings: Settings, database_url: str, name: str, folder: Path) -> Settings:
    return settings.replace(
        database_url=database_url,
        redis_prefix=f"{settings.redis.redis_prefix}:{name}",
        data_dir=folder,
        secret_key=SecretStr(Fernet.generate_key().decode()),
    )


@pytest.fixture(scope="module")
async def registries(
    settings: Settings, registry_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, RegistryServer]]:
    """Both registries, started on emptied databases, for the tests of a module (starting
    them is most of a test's time): each test registers hospitals of its own there."""
    folder = tmp_path_factory.mktemp("registries")
    servers = {}
    for name, url in registry_databases.items():
        own = registry_settings(settings, url, name, folder / name)
        await empty_state(own)
        servers[name] = RegistryServer(own, folder / name)
    try:
        await asyncio.gather(*(server.start() for server in servers.values()))
        yield servers
    finally:
        for server in servers.values():
            server.kill()


async def register(
    registry: RegistryServer, codes: list[str], ppk_codes: dict[str, str]
) -> dict[str, tuple[str, str]]:
    """The hospitals at the registry, each with the credential the registry issues it there
    (as `bedsvc keys issue --hospital CODE --sirs | --aplicares` does): code → (login, secret)."""
    services = await registry.services()
    try:
        factory = Factory(services)
        issued = {}
        for code in codes:
            await factory.hospital(code, bpjs_ppk_code=ppk_codes[code])
            if registry.settings.redis.redis_prefix.endswith(":sirs"):
                login = await issue_sirs(services.pool, services.queries, services.secret_box, code)
                issued[code] = (login.rs_id, login.password)
            else:
                credential = await issue_aplicares(
                    services.pool, services.queries, services.secret_box, code
                )
                issued[code] = (credential.cons_id, credential.secret)
        return issued
    finally:
        await services.redis.aclose()
        await services.pool.close()
