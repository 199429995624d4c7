"""Live availability: WebSocket and Server-Sent Events against a real granian, PostgreSQL
and Redis."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bedsvc.cache import HospitalChanged
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.service import apply_report
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.conftest import Factory, bearer, report, ward
from tests.live_support import LiveServer, StartServer, nothing_arrives, receive

PUSH = "/api/v1/hospitals/{}/occupancy"


async def push(server: LiveServer, code: str, key: str, *wards: dict[str, Any]) -> int:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.post(PUSH.format(code), json=report(*wards), headers=bearer(key))
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    return version


async def listing(server: LiveServer, query: str = "") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http) as http:
        body: dict[str, Any] = (await http.get(f"/api/v1/availability{query}")).json()
        return body


async def test_snapshot_then_a_delta_per_push_as_the_public_api_shows_it(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    code = await factory.hospital("3274011")
    key = await factory.key(hospital_code=code)
    first = await push(server, code, key, ward("MAWAR", available=3))

    async with connect(server.ws) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        public = await listing(server)
        assert snapshot["version"] == public["version"] >= first
        assert snapshot["hospitals"] == public["hospitals"]

        second = await push(server, code, key, ward("MAWAR", available=2))
        third = await push(server, code, key, ward("ICU", "ICU", 6, 1))
        deltas = [await receive(ws), await receive(ws)]

    assert [d["type"] for d in deltas] == ["delta", "delta"]
    assert [d["version"] for d in deltas] == [second, third]
    assert deltas[1]["hospital"] == (await listing(server))["hospitals"][0]
    classes = {c["bed_class"]: c["available"] for c in deltas[1]["hospital"]["classes"]}
    assert classes == {"KL3": 2, "ICU": 1}


async def test_filters_send_only_matching_hospitals_and_say_when_one_leaves(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    here = await factory.hospital("3274011", region="3274")
    there = await factory.hospital("3209011", region="3209")
    here_key = await factory.key(hospital_code=here)
    there_key = await factory.key(hospital_code=there)

    async with (
        connect(f"{server.ws}?region=3274&bed_class=ICU") as icu_here,
        connect(server.ws) as everything,
    ):
        assert (await receive(icu_here))["hospitals"] == []
        await receive(everything)

        await push(server, here, here_key, ward("MAWAR"))  # not ICU
        await push(server, there, there_key, ward("ICU", "ICU", 4, 2))  # not this region
        opened = await push(server, here, here_key, ward("ICU", "ICU", 6, 1))
        for _ in range(3):
            await receive(everything)
        delta = await receive(icu_here)
        assert (delta["type"], delta["version"]) == ("delta", opened)
        assert [c["bed_class"] for c in delta["hospital"]["classes"]] == ["ICU"]
        assert (
            delta["hospital"]
            == (await listing(server, "?region=3274&bed_class=ICU"))["hospitals"][0]
        )

        async with httpx.AsyncClient(base_url=server.http) as http:
            closed = await http.delete(
                f"/api/v1/hospitals/{here}/wards/ICU", headers=bearer(here_key)
            )
        assert await receive(icu_here) == {
            "type": "removed",
            "version": closed.json()["version"],
            "code": here,
        }
        assert await nothing_arrives(icu_here)


async def test_a_version_gap_in_the_feed_brings_a_fresh_snapshot(
    start_server: StartServer, factory: Factory, settings: Settings, services: Services
) -> None:
    server = await start_server()
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    await push(server, code, key, ward(available=3))

    async with connect(server.ws) as ws:
        before = await receive(ws)
        # A change announced out of thin air, far ahead: the worker must notice the gap and
        # reload from PostgreSQL, and its subscribers start over.
        state = await services.cache.hospital(code)
        assert state is not None
        bogus = HospitalChanged(version=before["version"] + 5, hospital=state)
        redis = aioredis.Redis.from_url(str(settings.redis_url))
        try:
            await redis.publish(f"{settings.redis_prefix}:changes", msgspec.json.encode(bogus))
        finally:
            await redis.aclose()
        resync = await receive(ws)
        assert resync["type"] == "snapshot"
        assert resync["hospitals"] == (await listing(server))["hospitals"]

        later = await push(server, code, key, ward(available=1))
        # (The worker may reload twice, Redis then PostgreSQL: a second snapshot is allowed.)
        while (message := await receive(ws))["type"] == "snapshot":
            assert message["version"] == resync["version"]
        assert (message["type"], message["version"]) == ("delta", later)


async def test_a_client_may_ask_for_a_fresh_snapshot(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    await factory.hospital()
    async with connect(server.ws) as ws:
        first = await receive(ws)
        await ws.send('{"type": "resync"}')
        await ws.send('{"type": "something-newer"}')  # ignored
        assert await receive(ws) == first


async def slow_client(port: int, path: str = "/api/v1/live") -> socket.socket:
    """A client (WebSocket, or event stream for the events path) that gets its response head
    and then reads nothing, with a tiny receive window so that the server's writes to it soon
    block."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    websocket = not path.endswith("/events")
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if websocket:
        request += (
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        )
    await loop.sock_sendall(sock, (request + "\r\n").encode())
    head = await asyncio.wait_for(loop.sock_recv(sock, 1024), 3)
    assert head.startswith(b"HTTP/1.1 101" if websocket else b"HTTP/1.1 200"), head
    return sock


async def test_a_slow_subscriber_neither_delays_a_fast_one_nor_grows_and_is_closed(
    start_server: StartServer, factory: Factory, services: Services
) -> None:
    server = await start_server(live_send_timeout_seconds=1.0)
    classes = sorted(services.bed_class_codes)
    # Large hospitals (every class, long texts) so that a client reading nothing soon fills
    # the socket buffers between it and the server.
    codes = [
        await factory.hospital(f"32740{i:02d}", name="RS " + "Besar " * 30, address="Jl. " * 160)
        for i in range(4)
    ]
    for code in codes:
        wards = [ward(f"W{c}", c, 10, 5) for c in classes]
        body = msgspec.convert(report(*wards), OccupancyReport)
        await apply_report(
            services.pool,
            services.queries,
            services.sync,
            code,
            body,
            None,
            max_open_wards=services.settings.max_wards_per_hospital,
        )
    # (A stuck event-stream client is dropped by the hub the same way, but granian keeps its
    # socket, and so its own shutdown, waiting until that client leaves: not tested here.)
    stuck = await slow_client(server.port)
    try:
        await exercise_slow_and_fast(server, services, codes, classes)
        # The server let go of the stuck connection: after what was buffered, it ends.
        assert len(await drain(stuck)) > 0
    finally:
        stuck.close()


async def exercise_slow_and_fast(
    server: LiveServer, services: Services, codes: list[str], classes: list[str]
) -> None:
    last_ack = 0.0
    most_pending = 0

    async with connect(server.ws, max_queue=None) as fast:
        await receive(fast)

        async def push_many(code: str, count: int) -> int:
            nonlocal last_ack, most_pending
            version = 0
            for n in range(count):
                bed_class = classes[n % len(classes)]
                body = msgspec.convert(
                    report(ward(f"W{bed_class}", bed_class, 10, n % 10)), OccupancyReport
                )
                written = await apply_report(
                    services.pool,
                    services.queries,
                    services.sync,
                    code,
                    body,
                    None,
                    max_open_wards=services.settings.max_wards_per_hospital,
                )
                version, last_ack = written.result.version, time.monotonic()
                most_pending = max(most_pending, *(len(s.pending) for s in server.hub.subscribers))
            return version

        async def read_until(versions: set[int]) -> float:
            while versions:
                message = await receive(fast)
                # A snapshot (the worker may reload under this load) covers what it includes.
                covered = {message["version"]} if message["type"] == "delta" else set()
                if message["type"] == "snapshot":
                    covered = {v for v in versions if v <= message["version"]}
                versions -= covered
            return time.monotonic()

        finals = await asyncio.gather(*(push_many(code, 300) for code in codes))
        arrived = await asyncio.wait_for(read_until(set(finals)), 5)
        assert arrived - last_ack < 1.0, "the fast subscriber was held up"
        assert 0 < most_pending <= len(codes), "a subscriber held more than one frame per hospital"

        # The slow one has been stuck on one write for longer than the limit: closed and
        # forgotten (proving too that it was stuck at all).
        for _ in range(100):
            if len(server.hub.subscribers) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(server.hub.subscribers) == 1


async def drain(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    chunks = []
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), 3):
        chunks.append(chunk)
    return b"".join(chunks)


async def test_connections_above_the_cap_are_refused_with_a_close_code(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server(live_max_connections=2)
    async with connect(server.ws) as one, connect(server.ws) as two:
        await receive(one)
        await receive(two)
        async with connect(server.ws) as three:
            with pytest.raises(ConnectionClosed) as closed:
                await receive(three)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013
        async with httpx.AsyncClient(base_url=server.http) as http:
            refused = await http.get("/api/v1/live/events")
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("application/problem+json")
    # Those who left make room again.
    async with connect(server.ws) as again:
        assert (await receive(again))["type"] == "snapshot"


async def test_origins_outside_the_allowed_list_are_refused(start_server: StartServer) -> None:
    server = await start_server(live_allowed_origins="https://lengko.example, https://rs.example")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with connect(server.ws, origin="https://lengko.example") as ws:  # type: ignore[arg-type]
        assert (await receive(ws))["type"] == "snapshot"
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get("/api/v1/live/events", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_bad_filters_and_oversized_messages_get_clear_close_codes(
    start_server: StartServer,
) -> None:
    server = await start_server(live_max_message_bytes=100)
    async with connect(f"{server.ws}?bed_class=KAMAR") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1008,
        "bed_class: unknown bed class 'KAMAR'",
    )
    async with connect(server.ws) as ws:
        await receive(ws)
        await ws.send("x" * 101)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get("/api/v1/live/events?bed_class=KAMAR")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "bed_class", "reason": "unknown bed class 'KAMAR'"}
    ]


async def test_quiet_connections_are_pinged(start_server: StartServer) -> None:
    server = await start_server(live_ping_seconds=0.2)
    async with connect(server.ws) as ws:
        kinds = [msgspec.json.decode(await asyncio.wait_for(ws.recv(), 2))["type"]]
        while kinds[-1] == "snapshot":  # (a second one if the worker reloaded meanwhile)
            kinds.append(msgspec.json.decode(await asyncio.wait_for(ws.recv(), 2))["type"])
    assert kinds[0] == "snapshot"
    assert kinds[-1] == "ping"


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


async def test_server_sent_events_stream_and_resume_with_last_event_id(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    one, two, three = [await factory.hospital(f"327401{i}") for i in range(3)]
    keys = {code: await factory.key(hospital_code=code) for code in (one, two, three)}
    await push(server, one, keys[one], ward(available=3))

    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream("GET", "/api/v1/live/events?region=3274") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = EventStream(response)
        snapshot_id, snapshot = await events.next()
        assert snapshot["type"] == "snapshot"
        assert snapshot_id == snapshot["version"]
        assert snapshot["hospitals"] == (await listing(server, "?region=3274"))["hospitals"]
        pushed = await push(server, two, keys[two], ward(available=5))
        hospitals = (await listing(server, "?region=3274"))["hospitals"]
        [hospital] = [h for h in hospitals if h["code"] == two]
        assert await events.next() == (
            pushed,
            {"type": "delta", "version": pushed, "hospital": hospital},
        )

    # Away for a while: two changes, one hospital twice.
    await push(server, three, keys[three], ward(available=1))
    await push(server, one, keys[one], ward(available=2))
    newest = await push(server, three, keys[three], ward(available=0))
    for _ in range(300):  # this worker has seen the last push
        if (await listing(server))["version"] >= newest:
            break
        await asyncio.sleep(0.01)

    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream(
            "GET", "/api/v1/live/events?region=3274", headers={"Last-Event-ID": str(pushed)}
        ) as response,
    ):
        events = EventStream(response)
        resumed = [await events.next(), await events.next()]
        with pytest.raises(TimeoutError):
            await events.next(timeout=0.3)
    assert [(i, m["type"], m["hospital"]["code"]) for i, m in resumed] == [
        (newest - 1, "delta", one),
        (newest, "delta", three),
    ]
    assert resumed[1][1]["hospital"]["classes"][0]["available"] == 0

    # An id this server cannot place (not one of its versions): a snapshot.
    for unknown in (str(newest + 100), "abc"):
        async with (
            httpx.AsyncClient(base_url=server.http, timeout=5) as http,
            http.stream(
                "GET", "/api/v1/live/events", headers={"Last-Event-ID": unknown}
            ) as response,
        ):
            event_id, message = await EventStream(response).next()
        assert (event_id, message["type"]) == (newest, "snapshot")


async def test_a_resume_from_before_the_worker_started_gets_a_snapshot(
    start_server: StartServer, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    first = await push(await start_server(), code, key, ward(available=3))
    later = await start_server()  # its history begins after `first`
    async with (
        httpx.AsyncClient(base_url=later.http, timeout=5) as http,
        http.stream(
            "GET", "/api/v1/live/events", headers={"Last-Event-ID": str(first - 1)}
        ) as response,
    ):
        event_id, message = await EventStream(response).next()
    assert (event_id, message["type"]) == (first, "snapshot")
