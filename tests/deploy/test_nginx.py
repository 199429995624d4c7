"""Two bedsvc instances behind the distribution's nginx with deploy/nginx/bedsvc.conf: TLS
with a self-signed certificate, the micro-cache, pushes, the event stream, the WebSocket and
the rate limits seen per real client and shared by the instances, all on loopback ports."""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import websockets
from websockets.asyncio.client import connect

from bedsvc.settings import Settings
from tests.support import Factory, bearer, clear_of_minute_edge, report, ward
from tests.support.nginx import OPERATORS, BedsvcProcess, NginxProcess, Ports, nginx_missing
from tests.support.serve import server_env

# Its tests share a module-scoped server: under pytest-xdist they run on one worker.
pytestmark = pytest.mark.xdist_group("nginx")

PER_ADDRESS = 5  # the instances' unauthenticated limit, per minute
INSTANCES = 2


@dataclass
class Edge:
    nginx: NginxProcess
    instances: list[BedsvcProcess]
    tls: ssl.SSLContext

    @property
    def base_url(self) -> str:
        return self.nginx.base_url

    def client(self, source: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=source, verify=self.tls)
        return httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=10)


_codes = itertools.count(1)


def new_code() -> str:
    """A hospital of the test's own: the module's server runs across its tests, so they share
    one database that is emptied once, before it starts (truncating under a running server
    would turn its versions back)."""
    return f"32750{next(_codes):02d}"


@pytest.fixture(scope="module")
def factory(module_factory: Factory) -> Factory:
    return module_factory


@pytest.fixture(scope="module")
def edge(
    settings: Settings, factory: Factory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    if (reason := nginx_missing()) is not None:
        pytest.fail(reason, pytrace=False)
    folder = tmp_path_factory.mktemp("nginx")
    ports = Ports.free(INSTANCES)
    instances = [
        BedsvcProcess(
            http_port,
            server_env(
                settings,
                folder / f"data-{http_port}",
                BEDSVC_LIVE_PORT=str(live_port),
                BEDSVC_TRUSTED_PROXIES="127.0.0.1",
                BEDSVC_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE=str(PER_ADDRESS),
            ),
            folder / f"bedsvc-{http_port}.log",
        )
        for http_port, live_port in zip(ports.http_upstreams, ports.live_upstreams, strict=True)
    ]
    nginx = NginxProcess(folder, ports)
    try:
        nginx.start()
        for instance in instances:
            instance.wait_ready()
        yield Edge(nginx, instances, ssl.create_default_context(cafile=nginx.certificate))
    finally:
        for instance in instances:
            instance.stop()
        nginx.stop()


async def push(edge: Edge, key: str, code: str, available: int) -> int:
    async with edge.client() as http:
        response = await http.post(
            f"/api/v1/hospitals/{code}/occupancy",
            json=report(ward(available=available), minutes_ago=0.1),
            headers=bearer(key),
        )
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


async def test_plain_http_is_sent_to_https(edge: Edge) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{edge.nginx.ports.plain}/dashboard")
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://")


async def test_the_second_public_read_is_a_cache_hit(edge: Edge) -> None:
    async with edge.client() as http:
        for attempt in range(3):
            # A query of its own: a cache entry no other request made.
            url = f"/api/v1/availability?limit={4000 + attempt}"
            started = int(time.time())
            first, second = await http.get(url), await http.get(url)
            if int(time.time()) != started:
                continue  # nginx counts max-age in whole seconds: this pair crossed one
            assert first.status_code == second.status_code == 200
            assert first.headers["x-cache-status"] == "MISS"
            assert second.headers["x-cache-status"] == "HIT"
            assert second.content == first.content
            assert second.headers["cache-control"] == first.headers["cache-control"]
            again = await http.get(url, headers={"If-None-Match": second.headers["etag"]})
            assert again.status_code == 304
            return
    pytest.fail("three pairs of reads each crossed a second")


async def test_a_push_through_nginx_reaches_the_cached_read(edge: Edge, factory: Factory) -> None:
    code = await factory.hospital(new_code())
    key = await factory.key(hospital_code=code)
    await push(edge, key, code, available=7)
    deadline = time.monotonic() + 5
    async with edge.client() as http:
        while time.monotonic() < deadline:
            document = (await http.get("/api/v1/availability")).json()
            listed = [h for h in document["hospitals"] if h["code"] == code]
            if listed and listed[0]["classes"][0]["available"] == 7:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the read through nginx never showed the push")


async def test_the_event_stream_is_not_buffered(edge: Edge, factory: Factory) -> None:
    code = await factory.hospital(new_code())
    key = await factory.key(hospital_code=code)
    await push(edge, key, code, available=3)
    async with (
        edge.client() as http,
        http.stream("GET", "/api/v1/live/events", headers={"Accept": "text/event-stream"}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.aiter_lines()
        snapshot = await asyncio.wait_for(next_event(lines), 5)
        await push(edge, key, code, available=4)
        while True:
            event_id, data = await asyncio.wait_for(next_event(lines), 5)
            if code in data and '"available":4' in data:
                break
    assert snapshot[0] < event_id


async def next_event(lines: AsyncIterator[str]) -> tuple[int, str]:
    """(id, data) of the next event that has an id (pings and retry hints have none)."""
    event_id, data = None, ""
    async for line in lines:
        if line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and event_id is not None:
            return event_id, data
    raise AssertionError("the event stream ended")


async def test_clients_behind_nginx_are_limited_each_on_their_own(edge: Edge) -> None:
    await clear_of_minute_edge()
    async with edge.client("127.0.0.3") as flooder, edge.client("127.0.0.4") as other:
        # The flooder forges X-Forwarded-For: nginx appends the address it saw, and bedsvc
        # counts that one. nginx spreads the requests over both instances: one count.
        statuses = [
            (
                await flooder.get(
                    "/api/v1/monitor/summary", headers={"X-Forwarded-For": f"198.51.100.{i}"}
                )
            ).status_code
            for i in range(PER_ADDRESS + 1)
        ]
        refused = await flooder.get("/api/v1/monitor/summary")
        neighbour = await other.get("/api/v1/monitor/summary")
        reads = [(await flooder.get("/api/v1/bed-classes")).status_code for _ in range(3)]
    assert statuses == [401] * PER_ADDRESS + [429]
    assert refused.status_code == 429
    assert refused.headers["retry-after"].isdigit()
    assert neighbour.status_code == 401  # its own count, untouched by the flood
    assert reads == [200] * 3


async def test_a_plain_get_of_the_live_path_goes_to_the_http_workers(edge: Edge) -> None:
    async with edge.client() as http:
        response = await http.get("/api/v1/live")
    # The live upstream may not listen at all; the HTTP workers answer in JSON either way.
    assert response.status_code != 502
    assert "json" in response.headers["content-type"]


async def test_a_live_websocket_through_nginx(edge: Edge, factory: Factory) -> None:
    for live_port in edge.nginx.ports.live_upstreams:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", live_port)) != 0:
                pytest.skip(
                    f"nothing answers on BEDSVC_LIVE_PORT={live_port}: this bedsvc serves the "
                    "WebSocket from its HTTP workers, not from separate live processes"
                )
    code = await factory.hospital(new_code())
    key = await factory.key(hospital_code=code)
    url = f"wss://127.0.0.1:{edge.nginx.ports.tls}/api/v1/live"
    async with connect(url, ssl=edge.tls) as ws:
        first = await next_message(ws)
        assert first["type"] == "snapshot"
        version = await push(edge, key, code, available=9)
        while True:
            message = await next_message(ws)
            versions: Any = message.get("versions", {})
            if message["type"] != "snapshot" and versions.get(code, 0) >= version:
                break
    assert message["version"] > first["version"]  # type: ignore[operator]


async def next_message(ws: websockets.asyncio.client.ClientConnection) -> dict[str, object]:
    while True:
        message: dict[str, object] = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 5))
        if message.get("type") != "ping":
            return message


async def test_metrics_are_served_only_to_the_operators_network(edge: Edge) -> None:
    async with edge.client(OPERATORS) as operator, edge.client("127.0.0.6") as stranger:
        scraped = await operator.get("/metrics")
        refused = await stranger.get("/metrics")
        around = await stranger.get("/metrics/")
        forged = await stranger.get("/metrics", headers={"X-Forwarded-For": OPERATORS})
    assert scraped.status_code == 200
    assert "bedsvc" in scraped.text
    assert refused.status_code == around.status_code == forged.status_code == 403
    assert "bedsvc" not in refused.text
