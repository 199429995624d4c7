"""Live availability: the WebSocket of a live process (the `websockets` library's server) and
the event stream of an HTTP worker (granian), against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import apply_report
from bedsvc.live.discovery import websocket_url
from bedsvc.live.messages import Changes, Snapshot, live_decoder
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, global_version, report, ward
from tests.support.imports import loaded_with
from tests.support.live import (
    EventStream,
    LiveServer,
    StartServer,
    hospitals_of,
    listing,
    nothing_arrives,
    push,
    receive,
)


async def apply(services: Services, code: str, *wards: dict[str, Any]) -> int:
    """A report through the ingest's own code, without HTTP (for many in a row); the global
    version that includes it, as `push`."""
    body = msgspec.convert(report(*wards), OccupancyReport)
    max_open_wards = services.settings.ingest.max_wards_per_hospital
    await apply_report(
        services.pool, services.queries, services.sync, code, body, max_open_wards=max_open_wards
    )
    return await global_version(services.pool)


async def get(server: LiveServer, path: str) -> Any:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def own_version(server: LiveServer, code: str) -> int:
    version: int = (await get(server, f"/api/v1/hospitals/{code}"))["version"]
    return version


async def until(ws: Any, done: Any, timeout: float = 3.0) -> list[dict[str, Any]]:
    """Frames until one satisfies `done`, each checked against the documented union."""
    frames = []
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout)
        assert isinstance(live_decoder.decode(raw), Snapshot | Changes)
        frames.append(msgspec.json.decode(raw))
        if done(frames[-1]):
            return frames


async def test_the_client_finds_the_websocket_through_the_http_origin(
    start_server: StartServer, settings: Settings
) -> None:
    server = await start_server()
    assert await get(server, "/api/v1/live") == {
        "websocket": server.ws,
        "events": "/api/v1/live/events",
    }
    async with httpx.AsyncClient() as http:
        health = await http.get(f"http://127.0.0.1:{server.live_port}/healthz")
    assert (health.status_code, health.text) == (200, "ok\n")
    behind_proxy = await start_server(live_public_url="wss://lengko.example/api/v1/live")
    assert (await get(behind_proxy, "/api/v1/live"))["websocket"] == (
        "wss://lengko.example/api/v1/live"
    )
    # Over https (as a TLS front end passes it on): wss on the request's host.
    tls = settings.replace(live_port=8443)
    assert websocket_url(tls.live, "https", "rs.example:443", None) == (
        "wss://rs.example:8443/api/v1/live"
    )
    assert websocket_url(settings.live, "http", "[::1]:8000", None) == "ws://[::1]:8001/api/v1/live"
    # A Host header that is not a host name is not copied into the URL.
    assert websocket_url(settings.live, "http", "evil.example/x?", ("10.0.0.5", 8000)) == (
        "ws://10.0.0.5:8001/api/v1/live"
    )


async def test_snapshot_then_changes_as_the_public_api_shows_them(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    code = await factory.hospital("3274011")
    key = await factory.key(hospital_code=code)
    first = await push(server, code, key, ward("MAWAR", available=3))

    async with connect(server.ws) as ws:
        [snapshot] = await until(ws, lambda f: True)
        assert snapshot["type"] == "snapshot"
        public = await listing(server)
        assert snapshot["version"] == public["version"] >= first
        assert snapshot["hospitals"] == public["hospitals"]
        assert snapshot["versions"] == {code: await own_version(server, code)}

        await push(server, code, key, ward("MAWAR", available=2))
        last = await push(server, code, key, ward("ICU", "ICU", 6, 1))
        frames = await until(ws, lambda f: f["version"] >= last)

    versions = [snapshot["version"]] + [f["version"] for f in frames]
    assert versions == sorted(set(versions)), "frame versions must grow"
    assert all(f["type"] == "changes" and f["removed"] == [] for f in frames)
    hospital = hospitals_of(frames[-1])[code]
    assert hospital == (await listing(server))["hospitals"][0]
    classes = {c["bed_class"]: c["available"] for c in hospital["classes"]}
    assert classes == {"KL3": 2, "ICU": 1}
    assert frames[-1]["versions"] == {code: await own_version(server, code)}


async def test_changes_within_a_tick_share_one_frame_latest_wins(
    start_server: StartServer, factory: Factory, services: Services
) -> None:
    server = await start_server(live_tick_ms=1000)
    one, two = await factory.hospital("3274011"), await factory.hospital("3274012")
    async with connect(server.ws) as ws:
        await receive(ws)
        await apply(services, one, ward(available=1))
        first = await receive(ws)  # the hub was idle: no wait
        started = time.monotonic()
        await apply(services, one, ward(available=2))
        await apply(services, two, ward(available=7))
        await apply(services, one, ward(available=3))
        second = await receive(ws)
        waited = time.monotonic() - started
        assert await nothing_arrives(ws, 1.2)

    assert list(hospitals_of(first)) == [one]
    assert waited > 0.5, "the second frame came before the tick was over"
    assert sorted(hospitals_of(second)) == [one, two]
    assert hospitals_of(second)[one]["classes"][0]["available"] == 3
    assert second["versions"] == {
        one: await own_version(server, one),
        two: await own_version(server, two),
    }


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
        await until(everything, lambda f: f["version"] >= opened)
        frame = await receive(icu_here)
        assert (frame["type"], frame["version"]) == ("changes", opened)
        assert [c["bed_class"] for c in frame["hospitals"][0]["classes"]] == ["ICU"]
        public = await listing(server, "?region=3274&bed_class=ICU")
        assert frame["hospitals"] == public["hospitals"]

        async with httpx.AsyncClient(base_url=server.http) as http:
            closed = await http.delete(
                f"/api/v1/hospitals/{here}/wards/ICU", headers=bearer(here_key)
            )
        left = await receive(icu_here)
        assert closed.status_code == 200
        assert (left["version"], left["hospitals"], left["removed"]) == (
            await global_version(server.services.pool),
            [],
            [here],
        )
        assert await nothing_arrives(icu_here)


async def test_a_hospital_that_moves_region_leaves_one_regions_stream_for_the_others(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server()
    moving = await factory.hospital("3274011", region="3274")
    staying = await factory.hospital("3209011", region="3209")
    await push(server, moving, await factory.key(hospital_code=moving), ward("ICU", "ICU", 6, 1))
    await push(server, staying, await factory.key(hospital_code=staying), ward("ICU", "ICU", 4, 2))

    async with (
        connect(f"{server.ws}?region=3274") as here,
        connect(f"{server.ws}?region=3209") as there,
    ):
        assert list(hospitals_of(await receive(here))) == [moving]
        assert list(hospitals_of(await receive(there))) == [staying]

        await factory.hospital(moving, region="3209")
        left, joined = await receive(here), await receive(there)
        assert (left["hospitals"], left["removed"]) == ([], [moving])
        assert (list(hospitals_of(joined)), joined["removed"]) == ([moving], [])
        public = hospitals_of(await listing(server, "?region=3209"))
        assert joined["hospitals"] == [public[moving]]


async def test_stale_flags_follow_the_clock_without_a_change(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server(stale_after_seconds=2)
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    await push(server, code, key, ward(), at=datetime.now(UTC) - timedelta(seconds=0.5))
    async with connect(server.ws) as ws:
        snapshot = await receive(ws)
        assert snapshot["hospitals"][0]["stale"] is False
        turned = await receive(ws, timeout=5)
    assert turned["version"] == snapshot["version"]
    assert turned["hospitals"][0]["stale"] is True
    assert turned["hospitals"] == (await listing(server))["hospitals"]


async def test_a_version_gap_in_the_feed_brings_a_fresh_snapshot(
    start_server: StartServer, factory: Factory, settings: Settings, services: Services
) -> None:
    server = await start_server()
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    await push(server, code, key, ward(available=3))

    async with connect(server.ws) as ws:
        before = await receive(ws)
        # A change whose global version does not add up, as if entries were lost on the way
        # (or forged): the process must notice and reload, and its subscribers start over.
        state = await services.cache.hospital(code)
        assert state is not None
        forged = msgspec.structs.replace(state, name="not from the database")
        await services.redis.xadd(
            services.cache.stream_key,
            {
                "p": before["version"] + 5,
                "c": code,
                "v": state.version + 1,
                "s": msgspec.json.encode(forged),
            },
        )
        resync = await receive(ws)
        assert resync["type"] == "snapshot"
        assert resync["hospitals"] == (await listing(server))["hospitals"]

        later = await push(server, code, key, ward(available=1))
        # (The process may reload twice, Redis then PostgreSQL: a second snapshot is allowed,
        # and may be the frame that carries the push.)
        frames = await until(ws, lambda f: f["version"] >= later)
    assert all(f["type"] == "snapshot" for f in frames[:-1])
    assert frames[-1]["version"] == later
    assert hospitals_of(frames[-1])[code]["classes"][0]["available"] == 1


async def test_a_client_may_ask_for_a_fresh_snapshot_at_a_limited_rate(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server(live_resync_min_seconds=1.0)
    await factory.hospital()
    async with connect(server.ws) as ws:
        first = await receive(ws)
        asked = time.monotonic()
        for _ in range(3):
            await ws.send('{"type": "resync"}')
        await ws.send('{"type": "something-newer"}')  # ignored
        assert await receive(ws) == first
        assert time.monotonic() - asked > 0.7, "a resync was served before the limit"
        assert await nothing_arrives(ws, 1.5), "three requests, more than one snapshot"


async def open_raw(port: int, path: str = "/api/v1/live") -> socket.socket:
    """A WebSocket (or, for the events path, event-stream) client by hand that gets its
    response head and then reads only when told to, with a tiny receive window so that the
    server's writes to it soon block."""
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
    head = b""
    while b"\r\n\r\n" not in head:
        head += await asyncio.wait_for(loop.sock_recv(sock, 1), 3)
    assert head.startswith(b"HTTP/1.1 101" if websocket else b"HTTP/1.1 200"), head
    return sock


async def read_frame(sock: socket.socket, timeout: float = 3.0) -> tuple[int, bytes]:
    """One WebSocket frame from the server (unmasked): (first byte, payload)."""
    loop = asyncio.get_running_loop()

    async def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, n - len(data)), timeout)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    first, second = await exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await exactly(2))
    elif length == 127:
        length = int.from_bytes(await exactly(8))
    return first, await exactly(length)


async def test_a_slow_subscriber_neither_delays_a_fast_one_nor_grows_and_is_closed(
    start_server: StartServer, factory: Factory, services: Services
) -> None:
    # A subscriber held up by the slow one would wait for its send timeout (4 s) to end it:
    # well above the 2 s the fast one may take on a busy machine to see every push.
    server = await start_server(
        live_send_timeout_seconds=4.0, live_write_buffer_bytes=4096, live_tick_ms=5
    )
    classes = sorted(services.bed_class_codes)
    # Large hospitals (every class, long texts) so that a client reading nothing soon fills
    # the socket buffers between it and the server.
    codes = [
        await factory.hospital(f"32740{i:02d}", name="RS " + "Besar " * 30, address="Jl. " * 160)
        for i in range(4)
    ]
    for code in codes:
        await apply(services, code, *[ward(f"W{c}", c, 10, 5) for c in classes])
    stuck = await open_raw(server.live_port)
    try:
        await exercise_slow_and_fast(server, services, codes, classes)
    finally:
        stuck.close()


async def exercise_slow_and_fast(
    server: LiveServer, services: Services, codes: list[str], classes: list[str]
) -> None:
    last_ack = 0.0
    most_pending = 0
    behind_seen = False

    async with connect(server.ws, max_queue=None) as fast:
        await receive(fast)

        async def push_many(code: str, count: int) -> None:
            nonlocal last_ack, most_pending, behind_seen
            for n in range(count):
                bed_class = classes[n % len(classes)]
                await apply(services, code, ward(f"W{bed_class}", bed_class, 10, n % 10))
                last_ack = time.monotonic()
                for subscriber in server.hub.subscribers:
                    most_pending = max(most_pending, len(subscriber.pending))
                    behind_seen = behind_seen or not subscriber.writable

        await asyncio.gather(*(push_many(code, 300) for code in codes))
        final = {code: await own_version(server, code) for code in codes}
        held: dict[str, int] = {}

        def caught_up(frame: dict[str, Any]) -> bool:
            held.update(frame["versions"])
            return all(held.get(code, 0) >= version for code, version in final.items())

        await until(fast, caught_up, timeout=5)
        assert time.monotonic() - last_ack < 2.0, "the fast subscriber was held up"
        assert behind_seen, "the slow subscriber never filled its buffer"
        assert most_pending <= len(codes), "a subscriber held more than one entry per hospital"

        # The slow one has been stuck for longer than the limit: closed and forgotten.
        for _ in range(200):
            if len(server.hub.subscribers) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(server.hub.subscribers) == 1


async def test_quiet_connections_are_pinged_and_dead_ones_closed(
    start_server: StartServer, factory: Factory
) -> None:
    server = await start_server(live_ping_seconds=0.3, live_send_timeout_seconds=1.0)
    sock = await open_raw(server.live_port)
    try:
        opcode, _ = await read_frame(sock)
        assert opcode == 0x81  # the snapshot, a text frame
        opcode, _ = await read_frame(sock)
        assert opcode == 0x89  # a ping; never answered...
        while opcode == 0x89:
            opcode, _ = await read_frame(sock, timeout=3)
        assert opcode == 0x88  # ...so the server closes the connection
    finally:
        sock.close()
    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream("GET", "/api/v1/live/events") as response,
    ):
        lines = response.aiter_lines()
        while (await asyncio.wait_for(anext(lines), 3)) != ": ping":
            pass


async def test_connections_over_the_limits_are_refused_at_the_handshake(
    start_server: StartServer,
) -> None:
    server = await start_server(live_max_connections=3, live_max_connections_per_address=2)
    async with connect(server.ws) as one, connect(server.ws) as two:
        await receive(one)
        await receive(two)
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws):
                pass
        assert refused.value.response.status_code == 429
        async with httpx.AsyncClient(base_url=server.http) as http:
            async with http.stream("GET", "/api/v1/live/events") as first:
                assert first.status_code == 200
                async with http.stream("GET", "/api/v1/live/events") as second:
                    assert second.status_code == 200
                    third = await http.get("/api/v1/live/events")
            assert third.status_code == 429
            assert third.headers["content-type"].startswith("application/problem+json")
    # Those who left make room again.
    async with connect(server.ws) as again:
        assert (await receive(again))["type"] == "snapshot"


async def test_the_limit_per_address_counts_the_client_behind_a_trusted_proxy(
    start_server: StartServer,
) -> None:
    """Behind nginx every peer is nginx: the client is the one it forwards, when it is trusted;
    from anyone else a forwarded address is ignored."""

    def from_client(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}

    behind = await start_server(live_max_connections_per_address=1, trusted_proxies=["127.0.0.1"])
    async with (
        connect(behind.ws, additional_headers=from_client("203.0.113.5")) as one,
        connect(behind.ws, additional_headers=from_client("203.0.113.6")) as other,
    ):
        await receive(one)
        await receive(other)
        with pytest.raises(InvalidStatus) as refused:
            async with connect(behind.ws, additional_headers=from_client("203.0.113.5")):
                pass
        assert refused.value.response.status_code == 429

    exposed = await start_server(live_max_connections_per_address=1)
    async with connect(exposed.ws, additional_headers=from_client("203.0.113.5")) as one:
        await receive(one)
        with pytest.raises(InvalidStatus) as forged:
            async with connect(exposed.ws, additional_headers=from_client("203.0.113.6")):
                pass
        assert forged.value.response.status_code == 429


async def test_a_full_process_refuses_with_503(start_server: StartServer) -> None:
    server = await start_server(live_max_connections=1)
    async with connect(server.ws) as one:
        await receive(one)
        with pytest.raises(InvalidStatus) as refused:
            async with connect(server.ws):
                pass
    assert refused.value.response.status_code == 503
    assert b"maximum of live connections" in refused.value.response.body


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


async def test_unknown_filters_are_refused_not_made_into_groups(
    start_server: StartServer, factory: Factory
) -> None:
    await factory.hospital("3274011", region="3274")
    server = await start_server()
    for query, field in (("bed_class=KAMAR", "bed_class"), ("region=9999", "region")):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.ws}?{query}"):
                pass
        response = refused.value.response
        assert response.status_code == 422
        problem = msgspec.json.decode(response.body)
        assert [e["field"] for e in problem["errors"]] == [field]
        async with httpx.AsyncClient(base_url=server.http) as http:
            events = await http.get(f"/api/v1/live/events?{query}")
        assert events.status_code == 422
        assert events.json()["errors"] == problem["errors"]
    assert "known: 3274" in problem["errors"][0]["reason"]
    assert server.hub.groups == {}
    assert server.sse_hub.groups == {}


async def test_messages_over_the_size_limit_close_the_connection(
    start_server: StartServer,
) -> None:
    server = await start_server(live_max_message_bytes=100)
    async with connect(server.ws) as ws:
        await receive(ws)
        await ws.send("x" * 101)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


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
        event_id, changes = await events.next()
        assert (event_id, changes["type"], changes["version"]) == (pushed, "changes", pushed)
        assert changes["hospitals"] == [hospital]

    # Away for a while: two hospitals changed, one of them twice.
    await push(server, three, keys[three], ward(available=1))
    await push(server, one, keys[one], ward(available=2))
    newest = await push(server, three, keys[three], ward(available=0))
    for _ in range(300):  # this worker has sent the last push to its subscribers
        if server.sse_hub.version >= newest:
            break
        await asyncio.sleep(0.01)

    async with (
        httpx.AsyncClient(base_url=server.http, timeout=5) as http,
        http.stream(
            "GET", "/api/v1/live/events?region=3274", headers={"Last-Event-ID": str(pushed)}
        ) as response,
    ):
        events = EventStream(response)
        event_id, resumed = await events.next()
        with pytest.raises(TimeoutError):
            await events.next(timeout=0.3)
    assert (event_id, resumed["type"]) == (newest, "changes")
    assert sorted(hospitals_of(resumed)) == [one, three]
    assert hospitals_of(resumed)[three]["classes"][0]["available"] == 0
    assert resumed["hospitals"] == [
        h for h in (await listing(server, "?region=3274"))["hospitals"] if h["code"] != two
    ]

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


def test_a_live_process_starts_without_the_http_framework() -> None:
    """A live process serves WebSockets only: it shares the read side, the errors and the
    proxy rules with the HTTP workers, not their framework (Litestar: about a quarter of the
    CPU its imports took)."""
    assert loaded_with("bedsvc.live.__main__", {"litestar"}) == []
