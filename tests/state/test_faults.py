"""PostgreSQL and Redis stopped and restarted under pushes and reads.

The servers are the test's own (an embedded PostgreSQL and a redis-server), whatever
BEDSVC_TEST_DATABASE_URL says, since the test stops them. Everything goes through the HTTP API
as hospitals and citizens use it; only the final checks read PostgreSQL directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server

from bedsvc.access.keys import issue_key
from bedsvc.app import create_app
from bedsvc.runtime.embedded import start_postgres
from bedsvc.settings import Settings
from bedsvc.store import load_queries, migrate
from tests.support import RedisProcess, bearer, ward
from tests.support.live import free_port
from tests.support.waits import eventually

Client = httpx.AsyncClient
HOSPITALS = ("3274011", "3274012", "3274013")
WARDS = ("MAWAR", "MELATI")
CAPACITY = 40
READ_TIMEOUT = 2.0  # a citizen's app gives up; the public reads answer from memory


class PostgresProcess:
    """An embedded PostgreSQL of the test's own, to stop (fast shutdown) and start again."""

    def __init__(self, folder: Path) -> None:
        self.url, self.server = start_postgres(folder)

    @property
    def pid(self) -> int:
        pid: int = self.server.get_pid()
        return pid

    def stop(self) -> None:
        pid = self.pid
        # SIGINT is PostgreSQL's fast shutdown: open sessions are cut mid-statement.
        os.kill(pid, signal.SIGINT)
        for _ in range(600):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)  # in a thread: the app keeps serving meanwhile
        raise RuntimeError("PostgreSQL did not stop")

    def start(self) -> None:
        self.server.ensure_postgres_running()


@pytest.fixture
def own_postgres() -> Iterator[PostgresProcess]:
    with tempfile.TemporaryDirectory(prefix="bedsvc-faults-") as folder:
        server = PostgresProcess(Path(folder))
        yield server
        server.server.cleanup()


@dataclass
class Traffic:
    """What the clients sent and were told."""

    acknowledged: list[tuple[str, str, datetime, int]] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    reads: Counter[int] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    def acks(self) -> int:
        return len(self.acknowledged)


async def until(predicate: Callable[[], Awaitable[bool] | bool], what: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        result = predicate()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def push_forever(client: Client, code: str, key: str, traffic: Traffic) -> None:
    """A hospital system reporting its wards as fast as it is answered."""
    reported_at = datetime.now(UTC) - timedelta(minutes=4)
    n = 0
    while True:
        n += 1
        # Strictly newer each time, so every report is applied and lands in the history.
        reported_at += timedelta(milliseconds=1)
        available = n % CAPACITY
        body = {
            "reported_at": reported_at.isoformat(),
            "wards": [ward(code, capacity=CAPACITY, available=available) for code in WARDS],
        }
        response = await client.post(
            f"/api/v1/hospitals/{code}/occupancy", json=body, headers=bearer(key)
        )
        if response.status_code == 200:
            traffic.acknowledged.extend(
                (code, ward_code, reported_at, available) for ward_code in WARDS
            )
            continue
        traffic.refused[response.status_code] += 1
        problem = response.headers.get("content-type") == "application/problem+json"
        if response.status_code != 503 or not problem or "retry-after" not in response.headers:
            traffic.unexpected.append(
                f"push {code}: {response.status_code} {dict(response.headers)} {response.text}"
            )
        await asyncio.sleep(0.01)


async def read_forever(client: Client, traffic: Traffic) -> None:
    """A citizen's app reading the public API."""
    paths = ["/api/v1/availability", *(f"/api/v1/hospitals/{code}" for code in HOSPITALS)]
    while True:
        for path in paths:
            try:
                response = await client.get(path, timeout=READ_TIMEOUT)
            except httpx.TimeoutException:
                traffic.unexpected.append(f"GET {path}: no answer within {READ_TIMEOUT} s")
                continue
            traffic.reads[response.status_code] += 1
            if response.status_code != 200:
                traffic.unexpected.append(f"GET {path}: {response.status_code} {response.text}")
        await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running(*tasks: Awaitable[None]) -> AsyncIterator[None]:
    started = [asyncio.ensure_future(task) for task in tasks]
    try:
        yield
    finally:
        for task in started:
            task.cancel()
        for task in started:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Client]:
    """The app on granian on this event loop, and a client talking to it over the network."""
    port = free_port()
    server = Server(create_app(settings), port=port, interface=Interfaces.ASGI, log_enabled=False)
    task = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await until(lambda: listening(client), "the server to start", 10)
            yield client
    finally:
        server.stop()
        await asyncio.wait_for(task, 15)


async def listening(client: Client) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return (await client.get("/healthz")).status_code == 200
    return False


async def set_up(client: Client, admin: str) -> dict[str, str]:
    keys = {}
    for n, code in enumerate(HOSPITALS):
        hospital = {
            "code": code,
            "name": f"RS {code}",
            "region_code": "3274",
            "lat": -6.72 + n / 100,
            "lon": 108.55,
        }
        response = await client.post(
            "/api/v1/admin/hospitals", json=hospital, headers=bearer(admin)
        )
        assert response.status_code == 200, response.text
        response = await client.post(
            "/api/v1/admin/keys",
            json={"role": "hospital", "hospital_code": code},
            headers=bearer(admin),
        )
        assert response.status_code == 201, response.text
        keys[code] = response.json()["key"]
    return keys


async def bridges_answer_503(client: Client) -> None:
    """The bridges check their credentials in PostgreSQL: 503 in their own envelopes."""
    sirs = await client.get(
        "/sirs/fo/index.php/Fasyankes", headers={"X-rs-id": HOSPITALS[0], "X-pass": "x"}
    )
    assert sirs.status_code == 503, sirs.text
    assert sirs.json()["fasyankes"][0]["status"] == "503"
    stamp = str(int(time.time()))
    aplicares = await client.get(
        "/aplicaresws/rest/bed/read/0122R001/1/10",
        headers={"X-cons-id": "1234", "X-timestamp": stamp, "X-signature": "x"},
    )
    assert aplicares.status_code == 503, aplicares.text
    assert aplicares.json()["metadata"]["code"] == 0
    assert "retry-after" in sirs.headers
    assert "retry-after" in aplicares.headers


async def public_wards(client: Client) -> dict[tuple[str, str], int]:
    seen = {}
    for code in HOSPITALS:
        detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
        seen |= {(code, w["ward_code"]): w["available"] for w in detail["wards"]}
    return seen


async def database_wards(url: str) -> dict[tuple[str, str], int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT hospital_code, ward_code, available FROM wards WHERE closed_at IS NULL"
        )
    finally:
        await conn.close()
    return {(r["hospital_code"], r["ward_code"]): r["available"] for r in rows}


async def test_restarts_lose_no_acknowledged_report(
    settings: Settings, own_postgres: PostgresProcess, redis_process: RedisProcess
) -> None:
    await migrate(own_postgres.url)
    conn = await asyncpg.connect(own_postgres.url)
    try:
        admin = (await issue_key(conn, load_queries(), "admin", None)).key
    finally:
        await conn.close()
    own = settings.replace(
        database_url=own_postgres.url,
        redis_url=redis_process.url,
        redis_prefix=f"bedsvc-faults-{secrets.token_hex(4)}",
        write_rate_limit_per_minute=1_000_000,
    )
    traffic = Traffic()
    async with serving(own) as client:
        keys = await set_up(client, admin)
        load = [push_forever(client, code, key, traffic) for code, key in keys.items()]
        async with running(*load, read_forever(client, traffic), read_forever(client, traffic)):
            await until(lambda: traffic.acks() >= 60, "pushes before the outage", 10)

            await asyncio.to_thread(own_postgres.stop)
            acked_before, reads_before = traffic.acks(), traffic.reads[200]
            await until(lambda: traffic.refused[503] >= 20, "503s while PostgreSQL is down", 10)
            # Nothing can be acknowledged while PostgreSQL is down (one in flight may finish),
            # and the public reads go on from the cache.
            await until(lambda: traffic.reads[200] >= reads_before + 40, "reads meanwhile", 10)
            assert traffic.acks() <= acked_before + len(WARDS) * len(HOSPITALS)
            await bridges_answer_503(client)
            await asyncio.to_thread(own_postgres.start)
            acked_after = traffic.acks()
            await until(lambda: traffic.acks() >= acked_after + 60, "pushes after restart", 15)

            redis_process.stop()
            acked_after, reads_before = traffic.acks(), traffic.reads[200]
            await until(lambda: traffic.acks() >= acked_after + 30, "pushes without Redis", 20)
            await until(lambda: traffic.reads[200] >= reads_before + 40, "reads meanwhile", 10)
            redis_process.start()
            acked_after = traffic.acks()
            await until(lambda: traffic.acks() >= acked_after + 60, "pushes after Redis", 15)

        assert not traffic.unexpected, traffic.unexpected[:10]
        assert set(traffic.reads) == {200}
        assert set(traffic.refused) == {503}

        # Every acknowledged report is in the history.
        conn = await asyncpg.connect(own_postgres.url)
        try:
            rows = await conn.fetch(
                "SELECT hospital_code, ward_code, reported_at, available FROM occupancy_history"
                " WHERE change = 'report'"
            )
        finally:
            await conn.close()
        stored = {tuple(row) for row in rows}
        missing = [ack for ack in traffic.acknowledged if ack not in stored]
        assert not missing, f"{len(missing)} acknowledged reports lost, e.g. {missing[:3]}"

        # What the public reads serve (from the cache) is what PostgreSQL holds, in this
        # worker and in one that starts now from the Redis cache.
        expected = await database_wards(own_postgres.url)
        assert len(expected) == len(HOSPITALS) * len(WARDS)

        def equal(served: dict[tuple[str, str], int]) -> bool:
            return served == expected

        await eventually(lambda: public_wards(client), equal, "the cache to equal PostgreSQL", 20)
    async with serving(own) as fresh:
        # On a machine the rest of the suite keeps busy, 10 s was seen to run out.
        await eventually(lambda: public_wards(fresh), equal, "a new worker to equal PostgreSQL", 30)
