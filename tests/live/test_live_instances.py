"""Two bedsvc server processes (`bedsvc serve`: HTTP workers and live processes) sharing one
PostgreSQL and one Redis, as two instances behind a load balancer would: a change pushed to one
reaches live subscribers of the other."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.live import free_port, receive
from tests.support.serve import server_env


class ServerProcess:
    def __init__(self, settings: Settings, data_dir: Path, *options: str, **extra: str) -> None:
        self.port = free_port()
        self.live_port = free_port()
        env = server_env(settings, data_dir, BEDSVC_LIVE_PORT=str(self.live_port), **extra)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bedsvc", "serve", "--port", str(self.port), *options],
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # its workers too can be stopped as one group
        )
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.live_port}/api/v1/live"

    async def ready(self) -> None:
        """Until the HTTP workers answer and the live WebSocket accepts a subscriber."""
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                assert self.process.poll() is None, "bedsvc serve exited"
                with contextlib.suppress(httpx.TransportError, OSError):
                    if (await http.get(f"{self.http}/readyz")).status_code == 200:
                        websocket = (await http.get(f"{self.http}/api/v1/live")).json()
                        assert websocket["websocket"] == self.ws
                        async with connect(self.ws) as subscriber:
                            await receive(subscriber)
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("bedsvc serve did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker left behind, if any
        self.process.wait()


def live_processes(parent: int) -> list[int]:
    """The live processes `bedsvc serve` started (its children running bedsvc.live)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"bedsvc.live" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


# Its tests share the module's two servers: under pytest-xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("instances")

_codes = itertools.count(1)


def new_code() -> str:
    """A hospital of the test's own: the module's servers run across its tests, so they share
    one database, emptied once before they start."""
    return f"32760{next(_codes):02d}"


@pytest.fixture(scope="module")
def factory(module_factory: Factory) -> Factory:
    return module_factory


@pytest.fixture(scope="module")
async def servers(
    settings: Settings, factory: Factory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """Two instances as an operator runs them: the first with its live process on a core of
    its own, the second with two live processes on one port."""
    folder = tmp_path_factory.mktemp("instances")
    first = ServerProcess(settings, folder / "first", BEDSVC_LIVE_CPU_AFFINITY="true")
    second = ServerProcess(settings, folder / "second", "--live-workers", "2")
    try:
        await asyncio.gather(first.ready(), second.ready())
        yield first, second
    finally:
        first.stop()
        second.stop()


async def test_a_push_to_one_instance_reaches_subscribers_of_the_other(
    servers: tuple[ServerProcess, ServerProcess], factory: Factory
) -> None:
    first, second = servers
    code = await factory.hospital(new_code())
    key = await factory.key(hospital_code=code)

    async with connect(second.ws) as subscriber:
        assert (await receive(subscriber))["type"] == "snapshot"
        async with httpx.AsyncClient(base_url=first.http) as http:
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward("ICU", "ICU", 8, 2)),
                headers=bearer(key),
            )
        assert response.status_code == 200, response.text
        pushed = response.json()["version"]
        # The hospital's registration may reach the subscriber first, in a frame of its own
        # or within its snapshot; the push is in the frame that carries the pushed version.
        while (message := await receive(subscriber)).get("versions", {}).get(code, 0) < pushed:
            pass
    assert message["type"] == "changes"
    [hospital] = message["hospitals"]
    assert [(c["bed_class"], c["available"]) for c in hospital["classes"]] == [("ICU", 2)]


async def test_stopping_a_server_lets_go_of_its_subscribers_promptly(
    settings: Settings, tmp_path: Path
) -> None:
    server = ServerProcess(settings, tmp_path)
    try:
        await server.ready()
        async with connect(server.ws) as subscriber:
            await receive(subscriber)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed):
                await receive(subscriber, timeout=5)
            assert time.monotonic() - started < 5, "the subscriber was held on to"
        # The process itself exits within granian's kill timeout (10 s) even if a worker
        # lingers, and takes its live processes along.
        await asyncio.to_thread(server.process.wait, 15)
        assert server.process.returncode == 0
        with pytest.raises(ConnectionRefusedError):
            async with connect(server.ws, open_timeout=2):
                pass
    finally:
        server.stop()


async def test_live_workers_share_one_port_and_all_follow_the_changes(
    servers: tuple[ServerProcess, ServerProcess], factory: Factory
) -> None:
    server = servers[1]
    code = await factory.hospital(new_code())
    key = await factory.key(hospital_code=code)
    # Both bound the port (SO_REUSEPORT) and run.
    assert len(live_processes(server.process.pid)) == 2
    async with contextlib.AsyncExitStack() as stack:
        subscribers = [await stack.enter_async_context(connect(server.ws)) for _ in range(16)]
        for subscriber in subscribers:
            await receive(subscriber)
        async with httpx.AsyncClient(base_url=server.http) as http:
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward("ICU", "ICU", 8, 2)),
                headers=bearer(key),
            )
        version = response.json()["version"]
        for subscriber in subscribers:
            while (await receive(subscriber)).get("versions", {}).get(code, 0) < version:
                pass
    assert len(live_processes(server.process.pid)) == 2


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to split")
async def test_the_live_process_runs_on_a_core_the_http_workers_do_not_use(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    server = servers[0]
    [live] = live_processes(server.process.pid)
    workers = [pid for pid in children(server.process.pid) if pid != live]
    assert workers, "no HTTP worker found"
    live_cores = os.sched_getaffinity(live)
    assert live_cores == {max(os.sched_getaffinity(0))}
    for worker in [server.process.pid, *workers]:
        assert os.sched_getaffinity(worker).isdisjoint(live_cores)
