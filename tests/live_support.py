"""A real granian server running the app on the test's own event loop, so that a test can
talk to it over the network (WebSocket, SSE) and still look at the worker's live hub."""

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
from bedsvc.services import Services
from bedsvc.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, app: Litestar, port: int) -> None:
        self.app = app
        self.port = port
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/api/v1/live"

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    @property
    def hub(self) -> LiveHub:
        return self.services.live


StartServer = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def start_server(settings: Settings, clean: None) -> AsyncIterator[StartServer]:
    """Starts bedsvc on granian with these settings (and any overrides)."""
    running: list[tuple[Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> LiveServer:
        app = create_app(
            settings.model_copy(update={"write_rate_limit_per_minute": 100_000, **overrides})
        )
        port = free_port()
        server = Server(app, port=port, interface=Interfaces.ASGI, log_enabled=False)
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        server = LiveServer(app, port)
                        await settled(server)
                        return server
                await asyncio.sleep(0.025)
        raise RuntimeError("test server did not start")

    yield start
    for server, task in running:
        server.stop()
        await asyncio.wait_for(task, 15)


async def settled(server: LiveServer) -> None:
    """Waits for the worker's first cache rebuild (an empty Redis is rebuilt at start, and the
    feed reloads on hearing of it), so that tests see no reload they did not cause."""
    services = server.services
    for _ in range(500):
        cached = await services.cache.version()
        if cached is not None and services.feed.version == cached:
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the worker's cache was not rebuilt")


async def receive(ws: ClientConnection, timeout: float = 3.0) -> dict[str, Any]:
    """The next message other than a ping."""
    while True:
        message: dict[str, Any] = msgspec.json.decode(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] != "ping":
            return message


async def nothing_arrives(ws: ClientConnection, within: float = 0.3) -> bool:
    with contextlib.suppress(TimeoutError):
        await receive(ws, within)
        return False
    return True
