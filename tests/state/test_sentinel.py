"""Redis through Sentinel: the distribution's redis-server as primary and replica, three
sentinels, all on loopback ports; bedsvc under pushes and reads while the primary is killed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pydantic
import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner

from bedsvc.cli import main
from bedsvc.settings import Settings
from bedsvc.state.cache import AvailabilityCache
from bedsvc.store import connect_pool, load_queries
from bedsvc.store.states import load_snapshot
from tests.support import Factory, bearer, report, ward
from tests.support.live import free_port
from tests.support.serve import ServeProcess, server_env
from tests.support.servers import wait_for_port
from tests.support.waits import eventually, truthy

REDIS_SERVER = shutil.which("redis-server")
REDIS_SENTINEL = shutil.which("redis-sentinel")
GROUP = "bedsvc"

needs_sentinel = pytest.mark.skipif(
    REDIS_SERVER is None or REDIS_SENTINEL is None,
    reason="redis-server / redis-sentinel missing (Debian packages; `make test` installs them)",
)


def test_sentinel_settings_are_checked() -> None:
    settings = Settings(redis_sentinels="10.0.0.1:26379, [::1]:26380", redis_sentinel_master="m")
    assert settings.redis.sentinel_addresses() == [("10.0.0.1", 26379), ("::1", 26380)]
    with pytest.raises(pydantic.ValidationError, match="BEDSVC_REDIS_SENTINEL_MASTER"):
        Settings(redis_sentinels="10.0.0.1:26379")
    with pytest.raises(pydantic.ValidationError, match="host:port"):
        Settings(redis_sentinels="10.0.0.1", redis_sentinel_master="m")
    with pytest.raises(pydantic.ValidationError, match="not both"):
        Settings(redis_sentinels="h:1", redis_sentinel_master="m", redis_url="redis://h")


class SentinelGroup:
    """A primary, its replica and three sentinels (quorum two)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def _start(self, port: int, *args: str) -> None:
        self.processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        wait_for_port(port)

    def _server(self, port: int, *extra: str) -> None:
        data = self.folder / str(port)
        data.mkdir()
        common = ["--bind", "127.0.0.1", "--protected-mode", "no", "--save", ""]
        # A replica gets its first copy at once, not after the default five seconds' wait.
        common += ["--repl-diskless-sync-delay", "0"]
        self._start(
            port, str(REDIS_SERVER), "--port", str(port), *common, "--dir", str(data), *extra
        )

    def start(self) -> None:
        self._server(self.primary_port)
        self._server(self.replica_port, "--replicaof", "127.0.0.1", str(self.primary_port))
        for port in self.sentinel_ports:
            config = self.folder / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {self.folder}\n"
                f"sentinel monitor {GROUP} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {GROUP} 400\n"
                f"sentinel failover-timeout {GROUP} 3000\n"
            )
            self._start(port, str(REDIS_SENTINEL), str(config))

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait()

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    async def primary(self) -> int:
        """The primary's port as the first sentinel tells it."""
        client = aioredis.Redis(port=self.sentinel_ports[0], decode_responses=True)
        try:
            _, port = await client.sentinel_get_master_addr_by_name(GROUP)
            return int(port)
        finally:
            await client.aclose()

    async def replication(self, port: int) -> dict[str, Any]:
        client = aioredis.Redis(port=port, decode_responses=True)
        try:
            info: dict[str, Any] = await client.info("replication")
        finally:
            await client.aclose()
        return info

    async def ready_for_failover(self, timeout: float = 20) -> None:
        """Every sentinel knows the replica and the other sentinels (they find each other
        through the primary, every two seconds), and the replica holds a copy of the primary."""

        async def known() -> list[tuple[int, int] | str]:
            seen: list[tuple[int, int] | str] = []
            for port in self.sentinel_ports:
                client = aioredis.Redis(port=port, decode_responses=True)
                try:
                    state = await client.sentinel_master(GROUP)
                finally:
                    await client.aclose()
                seen.append((state["num-slaves"], state["num-other-sentinels"]))
            seen.append((await self.replication(self.replica_port))["master_link_status"])
            return seen

        ready = [(1, 2), (1, 2), (1, 2), "up"]
        await eventually(known, lambda seen: seen == ready, "sentinels ready", timeout, 0.1)

    async def cut_replica(self) -> None:
        """The replica loses its link to the primary and cannot make it again (it offers a
        password the primary does not take): whatever the primary acknowledges from now on, the
        replica never sees."""
        replica = aioredis.Redis(port=self.replica_port)
        primary = aioredis.Redis(port=self.primary_port)
        try:
            await replica.config_set("masterauth", "not-the-password")
            await primary.client_kill_filter(_type="replica")
        finally:
            await replica.aclose()
            await primary.aclose()

        async def link() -> str:
            return str((await self.replication(self.replica_port))["master_link_status"])

        await eventually(link, lambda seen: seen == "down", "the replica's link is down")


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    group = SentinelGroup(tmp_path / "redis")
    group.folder.mkdir()
    try:
        group.start()
        yield group
    finally:
        group.stop()


@dataclass
class Load:
    """Pushes and reads against one server until told to stop, with every answer kept."""

    http: str
    keys: dict[str, str]
    acknowledged: dict[str, list[int]] = field(default_factory=dict)
    failed_pushes: list[str] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    start: datetime = field(default_factory=lambda: datetime.now(UTC) - timedelta(hours=1))

    async def push_loop(self, code: str) -> None:
        acknowledged = self.acknowledged.setdefault(code, [])
        async with httpx.AsyncClient(base_url=self.http, timeout=10) as http:
            for n in itertools.count():
                if self.stop.is_set():
                    return
                body = report(ward(available=n % 20), at=self.start + timedelta(seconds=n))
                try:
                    response = await http.post(
                        f"/api/v1/hospitals/{code}/occupancy",
                        json=body,
                        headers=bearer(self.keys[code]),
                    )
                except httpx.HTTPError as exc:
                    self.failed_pushes.append(repr(exc))
                    continue
                if response.status_code == 200:
                    acknowledged.append(n % 20)
                else:
                    self.failed_pushes.append(f"{response.status_code} {response.text}")

    async def read_loop(self) -> None:
        async with httpx.AsyncClient(base_url=self.http, timeout=10) as http:
            while not self.stop.is_set():
                try:
                    self.reads.append((await http.get("/api/v1/availability")).status_code)
                except httpx.HTTPError:
                    self.reads.append(0)
                await asyncio.sleep(0.01)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self.push_loop(code)) for code in self.keys]
        tasks.append(asyncio.create_task(self.read_loop()))
        try:
            yield
        finally:
            self.stop.set()
            await asyncio.gather(*tasks)


async def available_by_hospital(http: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=http) as client:
        document = (await client.get("/api/v1/availability")).json()
    return {h["code"]: sum(c["available"] for c in h["classes"]) for h in document["hospitals"]}


async def until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    await eventually(condition, truthy, what, timeout, 0.05)


@needs_sentinel
async def test_pushes_and_reads_survive_a_primary_failover(
    sentinel_group: SentinelGroup, settings: Settings, clean: None, factory: Factory, tmp_path: Path
) -> None:
    group = sentinel_group
    codes = [await factory.hospital(f"327401{i}") for i in range(3)]
    keys = {code: await factory.key(hospital_code=code) for code in codes}
    env = server_env(
        settings,
        tmp_path / "data",
        BEDSVC_REDIS_SENTINELS=group.sentinels,
        BEDSVC_REDIS_SENTINEL_MASTER=GROUP,
        # How often a worker cut off from Redis polls PostgreSQL, and checks the cache:
        # slow enough that changes seen sooner came through Redis.
        BEDSVC_CACHE_RECONCILE_SECONDS="2",
    )
    del env["BEDSVC_REDIS_URL"]
    with ServeProcess(env, "serve") as server:
        await asyncio.gather(server.ready(), group.ready_for_failover())
        load = Load(server.http, keys)
        async with load.running():
            await asyncio.sleep(1)
            group.kill(group.primary_port)

            async def promoted() -> bool:
                return await group.primary() == group.replica_port

            await until(promoted, 20, "the sentinels promote the replica")
            await asyncio.sleep(1)

        assert load.failed_pushes == []
        assert set(load.reads) == {200}
        assert all(len(acks) > 5 for acks in load.acknowledged.values()), load.acknowledged

        # Nothing acknowledged is lost: every push is in the history, and the public read
        # ends at the last one of each hospital.
        conn = await asyncpg.connect(settings.database.database_url)
        try:
            rows = await conn.fetch(
                "SELECT hospital_code, count(*) AS pushes FROM occupancy_history"
                " WHERE ward_code = 'MAWAR' GROUP BY hospital_code"
            )
        finally:
            await conn.close()
        assert {r["hospital_code"]: r["pushes"] for r in rows} == {
            code: len(acks) for code, acks in load.acknowledged.items()
        }
        last = {code: acks[-1] for code, acks in load.acknowledged.items()}

        async def caught_up() -> bool:
            return await available_by_hospital(server.http) == last

        await until(caught_up, 10, "the public read shows every acknowledged push")

        # The cache is rebuilt on the new primary...
        new_primary = aioredis.Redis(port=group.replica_port)
        cache = AvailabilityCache(
            new_primary, settings.redis.redis_prefix, settings.redis.change_stream_length
        )

        async def cache_rebuilt() -> bool:
            for code in codes:
                state = await cache.hospital(code)
                if state is None or sum(w.available for w in state.wards) != last[code]:
                    return False
            return True

        try:
            await until(cache_rebuilt, 10, "the cache is rebuilt on the new primary")
        finally:
            await new_primary.aclose()

        # ...and the feed follows it again: each push shows up at once, not at the next poll
        # of PostgreSQL (every 2 s) as while Redis was away. Each within half a poll interval:
        # a feed still polling would show all five that quickly once in 32 runs, and a busy
        # machine has room to answer.
        async with httpx.AsyncClient(base_url=server.http) as http:
            for n in range(5):
                code = codes[n % len(codes)]
                body = report(ward(available=n), at=load.start + timedelta(hours=1, seconds=n))
                headers = bearer(keys[code])
                url = f"/api/v1/hospitals/{code}/occupancy"
                assert (await http.post(url, json=body, headers=headers)).status_code == 200
                pushed_at = time.monotonic()

                async def shown(code: str = code, n: int = n) -> bool:
                    return (await available_by_hospital(server.http))[code] == n

                await until(shown, 5, "the push is visible")
                assert time.monotonic() - pushed_at < 1.0, "the feed is not back on Redis"


@needs_sentinel
async def test_check_reaches_the_primary_through_sentinel(
    sentinel_group: SentinelGroup, settings: Settings, tmp_path: Path
) -> None:
    env = {
        "BEDSVC_DATA_DIR": str(tmp_path),
        "BEDSVC_DATABASE_URL": str(settings.database.database_url),
        "BEDSVC_REDIS_URL": None,
        "BEDSVC_REDIS_SENTINELS": sentinel_group.sentinels,
        "BEDSVC_REDIS_SENTINEL_MASTER": GROUP,
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, ["check"], env=env)
    assert result.exit_code == 0, result.output
    assert f"ok    Redis primary of Sentinel group '{GROUP}'" in result.output

    env["BEDSVC_REDIS_SENTINEL_MASTER"] = "nosuchgroup"
    result = await asyncio.to_thread(CliRunner().invoke, main, ["check"], env=env)
    assert result.exit_code == 1, result.output
    assert "FAIL  Redis primary of Sentinel group 'nosuchgroup'" in result.output


async def cache_and_database(cache: AvailabilityCache, database_url: str) -> tuple[Any, Any]:
    """Every hospital's version and state as the cache holds them, and as PostgreSQL does."""
    pool = await connect_pool(database_url, 1, 1)
    try:
        record = await load_snapshot(pool, load_queries())
    finally:
        await pool.close()
    held = await cache.snapshot()
    return (
        (held.versions, {s.code: s for s in held.states}),
        (record.versions, {s.code: s for s in record.states}),
    )


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


@needs_sentinel
async def test_the_promoted_replica_holds_postgresql_within_three_reconcile_rounds(
    sentinel_group: SentinelGroup, settings: Settings, clean: None, factory: Factory, tmp_path: Path
) -> None:
    """The primary acknowledges writes its replica never gets, then dies; nothing is pushed
    after it. The cache on the promoted replica must equal PostgreSQL within three reconcile
    intervals of the replica answering as primary, with the repair counted and measured."""
    group = sentinel_group
    interval = 1.0
    codes = [await factory.hospital(f"327401{i}") for i in range(3)]
    keys = {code: await factory.key(hospital_code=code) for code in codes}
    env = server_env(
        settings,
        tmp_path / "data",
        BEDSVC_REDIS_SENTINELS=group.sentinels,
        BEDSVC_REDIS_SENTINEL_MASTER=GROUP,
        BEDSVC_CACHE_RECONCILE_SECONDS=str(interval),
    )
    del env["BEDSVC_REDIS_URL"]
    with ServeProcess(env, "serve") as server:
        await asyncio.gather(server.ready(), group.ready_for_failover())
        load = Load(server.http, keys)

        async def acknowledged() -> dict[str, int]:
            return {code: len(load.acknowledged.get(code, [])) for code in codes}

        async with load.running():
            await eventually(
                acknowledged,
                lambda seen: all(n >= 3 for n in seen.values()),
                "pushes acknowledged before the cut",
            )
            await group.cut_replica()
            before = await acknowledged()
            await eventually(
                acknowledged,
                lambda seen: all(seen[c] >= before[c] + 3 for c in codes),
                "pushes the replica never sees",
            )
            group.kill(group.primary_port)

        async def role() -> str:
            return str((await group.replication(group.replica_port))["role"])

        await eventually(role, lambda seen: seen == "master", "the replica is promoted", 30)
        new_primary = aioredis.Redis(port=group.replica_port)
        cache = AvailabilityCache(
            new_primary, settings.redis.redis_prefix, settings.redis.change_stream_length
        )
        try:
            await eventually(
                lambda: cache_and_database(cache, str(settings.database.database_url)),
                lambda seen: seen[0] == seen[1],
                "the cache on the new primary equals PostgreSQL",
                timeout=3 * interval,
                every=0.05,
            )
        finally:
            await new_primary.aclose()

        async with httpx.AsyncClient(base_url=server.http) as http:
            text = (await http.get("/metrics")).text
        assert metric(text, "bedsvc_cache_failover_repairs_total") >= 1, text
        assert metric(text, "bedsvc_cache_failover_lag_versions_sum") >= 1, text
