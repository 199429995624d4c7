"""A real granian server running the app, and a live process's WebSocket server, both on the
test's own event loop, so that a test can talk to them over the network (WebSocket, SSE) and
still look at their live hubs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import msgspec
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server
from litestar import Litestar
from websockets.asyncio.client import ClientConnection

from bedsvc.app import create_app
from bedsvc.live.hub import LiveHub
from bedsvc.live.process import LiveProcess, start_live
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support.payloads import bearer, report
from tests.support.waits import global_version


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, app: Litestar, port: int, live: LiveProcess, live_port: int) -> None:
        self.app = app
        self.port = port
        self.live = live
        self.live_port = live_port
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{live_port}/api/v1/live"

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def hub(self) -> LiveHub:
        """The live process's hub (WebSocket subscribers)."""
        return self.live.hub

    @property
    def sse_hub(self) -> LiveHub:
        """The HTTP worker's hub (event-stream subscribers)."""
        return self.services.live


StartServer = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def start_server(settings: Settings, clean: None) -> AsyncIterator[StartServer]:
    """Starts bedsvc on granian and a live process with these settings (and any overrides);
    `background_loops=False` for a test that counts the pool's connections itself."""
    running: list[tuple[Server, asyncio.Task[None]]] = []
    lives: list[LiveProcess] = []

    async def start(*, background_loops: bool = True, **overrides: Any) -> LiveServer:
        live_port = free_port()
        configured = settings.replace(
            **{"write_rate_limit_per_minute": 100_000, "live_port": live_port, **overrides}
        )
        app = create_app(configured, background_loops=background_loops)
        port = free_port()
        server = Server(app, port=port, interface=Interfaces.ASGI, log_enabled=False)
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        live = await start_live(configured, "127.0.0.1", live_port)
        lives.append(live)
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        started = LiveServer(app, port, live, live_port)
                        if not background_loops:  # the reconciler's first round
                            await started.services.sync.reconcile_once()
                        await settled(started)
                        return started
                await asyncio.sleep(0.025)
        raise RuntimeError("test server did not start")

    yield start
    for live in lives:
        await live.stop()
    for server, task in running:
        server.stop()
        await asyncio.wait_for(task, 15)


async def settled(server: LiveServer) -> None:
    """Waits for the worker's first cache rebuild (an empty Redis is rebuilt at start, and the
    feeds reload on hearing of it), so that tests see no reload they did not cause."""
    services = server.services
    for _ in range(500):
        cached = await services.cache.version()
        if cached is not None and services.feed.version == server.live.feed.version == cached:
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the worker's cache was not rebuilt")


async def receive(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    """The next frame."""
    message: dict[str, Any] = msgspec.json.decode(await asyncio.wait_for(ws.recv(), timeout))
    return message


async def nothing_arrives(ws: ClientConnection, within: float = 0.3) -> bool:
    with contextlib.suppress(TimeoutError):
        await receive(ws, within)
        return False
    return True


def hospitals_of(frame: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {hospital["code"]: hospital for hospital in frame["hospitals"]}


PUSH = "/api/v1/hospitals/{}/occupancy"


async def push(server: LiveServer, code: str, key: str, *wards: dict[str, Any], **at: Any) -> int:
    """Pushes one report; the global version of the first state that includes it (read right
    after it: these tests push one report at a time)."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(
            PUSH.format(code), json=report(*wards, **at), headers=bearer(key)
        )
    assert response.status_code == 200, response.text
    return await global_version(server.services.pool)


async def get(server: LiveServer, path: str) -> Any:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def listing(server: LiveServer, query: str = "") -> dict[str, Any]:
    body: dict[str, Any] = await get(server, f"/api/v1/availability{query}")
    return body


class EventStream:
    """Reads Server-Sent Events: (id, decoded data) pairs, skipping comments."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 3.0) -> tuple[int | None, dict[str, Any]]:
        event_id: int | None = None
        while True:
            line = await asyncio.wait_for(anext(self.lines), timeout)
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                data: dict[str, Any] = msgspec.json.decode(line[6:])
                return event_id, data
