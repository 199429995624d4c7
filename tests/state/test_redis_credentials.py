"""Redis that asks for credentials: in the URL (a requirepass password, an ACL user), and
through Sentinel, where the sentinels and the primary they name each have their own.
The distribution's redis-server and redis-sentinel, on loopback ports."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from bedsvc.app import create_app
from bedsvc.cli import main
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, wait_for_version, ward
from tests.support.live import free_port
from tests.support.servers import wait_for_port

REDIS_SERVER = shutil.which("redis-server")
REDIS_SENTINEL = shutil.which("redis-sentinel")
PRIMARY_PASSWORD = "primary-Secret-1"
SENTINEL_PASSWORD = "sentinel-Secret-2"
GROUP = "bedsvc"

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_SENTINEL is None,
    reason="redis-server / redis-sentinel missing (Debian packages; `make test` installs them)",
)


class Servers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, port: int, *args: str) -> int:
        self.processes.append(subprocess.Popen(args, stdout=subprocess.DEVNULL))
        wait_for_port(port)
        return port

    def redis(self, *extra: str) -> int:
        port = free_port()
        data = self.folder / str(port)
        data.mkdir()
        common = ["--bind", "127.0.0.1", "--save", "", "--dir", str(data)]
        return self.start(port, str(REDIS_SERVER), "--port", str(port), *common, *extra)

    def sentinel(self, primary: int) -> int:
        port = free_port()
        config = self.folder / f"sentinel-{port}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"requirepass {SENTINEL_PASSWORD}\n"
            f"sentinel monitor {GROUP} 127.0.0.1 {primary} 1\n"
            f"sentinel auth-pass {GROUP} {PRIMARY_PASSWORD}\n"
        )
        return self.start(port, str(REDIS_SENTINEL), str(config))

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    yield running
    running.stop()


@pytest.fixture
async def hospital(factory: Factory) -> tuple[str, str]:
    code = await factory.hospital()
    return code, await factory.key(hospital_code=code)


async def pushes_and_serves(settings: Settings, code: str, key: str) -> None:
    """A push is acknowledged and reaches the public read through Redis's change stream."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        pushed = await client.post(
            f"/api/v1/hospitals/{code}/occupancy", json=report(ward()), headers=bearer(key)
        )
        assert pushed.status_code == 200, pushed.text
        await wait_for_version(client, code, pushed.json()["version"])
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text


async def check(environment: dict[str, str]) -> str:
    result = await asyncio.to_thread(CliRunner().invoke, main, ["check"], env=environment)
    return result.output


async def test_credentials_in_the_url(
    servers: Servers, settings: Settings, clean: None, hospital: tuple[str, str]
) -> None:
    port = servers.redis(
        "--requirepass", PRIMARY_PASSWORD, "--user", "bedsvc", "on", ">acl-Secret-3", "~*",
        "&*", "+@all",
    )  # fmt: skip
    for url in (
        f"redis://:{PRIMARY_PASSWORD}@127.0.0.1:{port}/0",
        f"redis://bedsvc:acl-Secret-3@127.0.0.1:{port}/0",
    ):
        await pushes_and_serves(settings.replace(redis_url=url), *hospital)

    base = {"BEDSVC_DATABASE_URL": str(settings.database.database_url), "BEDSVC_SECRET_KEY": ""}
    good = await check(base | {"BEDSVC_REDIS_URL": f"redis://bedsvc:acl-Secret-3@127.0.0.1:{port}"})
    bad = await check(base | {"BEDSVC_REDIS_URL": f"redis://bedsvc:wrong@127.0.0.1:{port}"})
    assert f"ok    Redis at 127.0.0.1:{port}" in good, good
    assert "BEDSVC_REDIS_URL is refused" in bad, bad
    assert "wrong" not in bad
    assert "acl-Secret-3" not in good


async def test_a_sentinel_with_a_password_watching_a_primary_with_another(
    servers: Servers, settings: Settings, clean: None, hospital: tuple[str, str]
) -> None:
    primary = servers.redis("--requirepass", PRIMARY_PASSWORD)
    sentinel = servers.sentinel(primary)
    through_sentinel = settings.replace(
        redis_url=None,
        redis_sentinels=[f"127.0.0.1:{sentinel}"],
        redis_sentinel_master=GROUP,
        redis_password=SecretStr(PRIMARY_PASSWORD),
        redis_sentinel_password=SecretStr(SENTINEL_PASSWORD),
    )
    await pushes_and_serves(through_sentinel, *hospital)

    base = {
        "BEDSVC_DATABASE_URL": str(settings.database.database_url),
        "BEDSVC_SECRET_KEY": "",
        "BEDSVC_REDIS_SENTINELS": f"127.0.0.1:{sentinel}",
        "BEDSVC_REDIS_SENTINEL_MASTER": GROUP,
    }
    right = {
        "BEDSVC_REDIS_PASSWORD": PRIMARY_PASSWORD,
        "BEDSVC_REDIS_SENTINEL_PASSWORD": SENTINEL_PASSWORD,
    }
    good = await check(base | right)
    wrong_sentinel = await check(base | right | {"BEDSVC_REDIS_SENTINEL_PASSWORD": "x"})
    wrong_primary = await check(base | right | {"BEDSVC_REDIS_PASSWORD": "x"})

    assert f"ok    Redis sentinel at 127.0.0.1:{sentinel}: reached" in good, good
    assert f"the primary is 127.0.0.1:{primary}" in good, good
    assert f"ok    Redis primary of Sentinel group '{GROUP}'" in good, good
    assert "FAIL  Redis sentinel" in wrong_sentinel, wrong_sentinel
    assert "BEDSVC_REDIS_SENTINEL_USERNAME/_PASSWORD" in wrong_sentinel
    assert "FAIL  Redis primary" in wrong_primary, wrong_primary
    assert "BEDSVC_REDIS_USERNAME/_PASSWORD" in wrong_primary
    for output in (good, wrong_sentinel, wrong_primary):
        assert PRIMARY_PASSWORD not in output
        assert SENTINEL_PASSWORD not in output
