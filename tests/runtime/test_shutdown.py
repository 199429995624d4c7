"""Stopping: `bedsvc serve` on SIGTERM lets in-flight pushes finish and ends live streams
with a last word; `bedsvc demo` stops its simulated hospitals, then the server, then the
embedded PostgreSQL and Redis, within five seconds, whatever signals arrive meanwhile."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, waiting_on_a_lock, ward
from tests.support.live import free_port
from tests.support.serve import ServeProcess, server_env

# One worker runs the module: the demo runs share one embedded PostgreSQL's initdb, and their
# five-second stops are not timed while another demo starts beside them.
pytestmark = pytest.mark.xdist_group("shutdown")


@pytest.fixture
def server(settings: Settings, clean: None, tmp_path: Path) -> Iterator[ServeProcess]:
    with ServeProcess(server_env(settings, tmp_path), "serve") as process:
        yield process


async def test_sigterm_lets_pushes_finish_and_ends_event_streams(
    server: ServeProcess, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    await server.ready()
    blocker = await asyncpg.connect(settings.database.database_url)
    async with (
        httpx.AsyncClient(base_url=server.http, timeout=20) as http,
        http.stream("GET", "/api/v1/live/events") as stream,
    ):
        chunks = stream.aiter_text()
        assert "snapshot" in "".join([await anext(chunks), await anext(chunks)])
        # A push held up inside its transaction, as a slow commit would be.
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("SELECT 1 FROM hospitals WHERE code = $1 FOR UPDATE", code)
        push = asyncio.create_task(
            http.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward(available=7)),
                headers=bearer(key),
            )
        )
        await waiting_on_a_lock(blocker)
        stopped_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)

        rest = [chunk async for chunk in chunks]  # ends: the server closed the stream
        ended_after = time.monotonic() - stopped_at
        await asyncio.sleep(0.5)  # the push is still held up meanwhile
        await lock.rollback()
        response = await push
    await blocker.close()

    assert rest[-1].endswith(": server shutting down\n\n")
    assert ended_after < 2
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == ["MAWAR"]
    # Exits cleanly once its workers and live processes have: a bound for a busy machine,
    # well below the systemd unit's stop timeout.
    assert await asyncio.to_thread(server.process.wait, 15) == 0
    assert time.monotonic() - stopped_at < 5
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        available = await conn.fetchval(
            "SELECT available FROM wards WHERE hospital_code = $1 AND ward_code = 'MAWAR'", code
        )
    finally:
        await conn.close()
    assert available == 7


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the demo runs: PostgreSQL's initdb happens once."""
    return tmp_path_factory.mktemp("demo")


class Demo:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEDSVC_")}
        env |= {
            "BEDSVC_DATA_DIR": str(data_dir),
            "BEDSVC_LOG_LEVEL": "INFO",
            # A free port: the default (the HTTP port + 1) may be another test server's.
            "BEDSVC_LIVE_PORT": str(free_port()),
            "BEDSVC_LIVE_CPU_AFFINITY": "false",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.log = log
        self.postmaster_pid = data_dir / "postgres" / "postmaster.pid"
        port = str(self.port)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bedsvc", "demo", "--interval", "0.3", "--port", port],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's process group of its own
            )

    def wait_for_reports(self, timeout: float = 120) -> None:
        """Until the simulated hospitals' reports show in the public read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{self.port}/api/v1/availability")
            except httpx.HTTPError:
                response = None  # still starting
            if response is not None and response.status_code == 200:
                hospitals = response.json()["hospitals"]
                if sum(bool(h["classes"]) for h in hospitals) >= 6:
                    return
            time.sleep(0.1)
        raise AssertionError(f"the demo did not report: {self.log.read_text()}")

    def postgres_pid(self) -> int:
        return int(self.postmaster_pid.read_text().splitlines()[0])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def alive(pid: int) -> bool:
    """Running, not just waiting to be reaped (a zombie has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def gone_in_time(pid: int, started: float) -> bool:
    """The process exits within the five seconds (PostgreSQL removes its pid file a moment
    before it exits)."""
    while alive(pid):
        if time.monotonic() - started > 5:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def demo(demo_data: Path, tmp_path: Path) -> Iterator[Demo]:
    running = Demo(demo_data, tmp_path / "demo.log")
    try:
        yield running
    finally:
        running.stop()


def stopped_in_order(demo: Demo, started: float) -> None:
    demo.process.wait(10)
    took = time.monotonic() - started
    log = demo.log.read_text()
    assert took < 5, f"the demo took {took:.1f} s to stop:\n{log}"
    assert not demo.postmaster_pid.exists(), log
    # The simulated hospitals stopped before the server: none saw it go away.
    assert "report failed" not in log
    assert "report refused" not in log


def test_demo_stops_on_sigterm(demo: Demo) -> None:
    demo.wait_for_reports()
    postgres = demo.postgres_pid()

    started = time.monotonic()
    demo.process.send_signal(signal.SIGTERM)

    stopped_in_order(demo, started)
    assert demo.process.returncode == 0
    assert gone_in_time(postgres, started)


def test_demo_stops_on_ctrl_c_followed_by_sigterm(demo: Demo) -> None:
    demo.wait_for_reports()
    postgres = demo.postgres_pid()

    started = time.monotonic()
    os.killpg(demo.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    time.sleep(0.2)
    demo.process.send_signal(signal.SIGTERM)

    stopped_in_order(demo, started)
    assert gone_in_time(postgres, started)
