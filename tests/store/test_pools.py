"""Slow readers of exports cannot starve pushes: the monitor has its own few connections, an
export is read from PostgreSQL into a temporary file before it is sent, and every wait for a
connection ends in a 503 with Retry-After instead of hanging."""

from __future__ import annotations

import contextlib
import socket
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from bedsvc.settings import Settings
from bedsvc.store import connect_pool
from tests.support import Factory, bearer, report, ward
from tests.support.live import StartServer
from tests.support.region import history_of_wards
from tests.support.waits import eventually

HOSPITAL = "3274011"
STALLED = 12


async def months_of_history(settings: Settings, factory: Factory) -> None:
    """Wards reported long ago, so that a per-minute export of the region is megabytes."""
    await factory.hospital(HOSPITAL)
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        await conn.execute(
            """
            INSERT INTO wards (hospital_code, ward_code, name, bed_class, capacity, available,
                               reported_at, received_at)
            SELECT $1, c || '_' || n, 'Ruang ' || n, c, 10, 1, now() - interval '70 days', now()
            FROM generate_series(1, 2) AS n, unnest(ARRAY['KL1', 'KL2', 'KL3']) AS c
            """,
            HOSPITAL,
        )
        await history_of_wards(conn, HOSPITAL)
    finally:
        await conn.close()


async def answered(socks: list[socket.socket]) -> int:
    """How many of the sockets have the first bytes of an answer waiting, left unread."""
    count = 0
    for sock in socks:
        with contextlib.suppress(BlockingIOError):
            count += bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    return count


def stalled_export(port: int, key: str, client_number: int) -> socket.socket:
    """An export request whose client never reads a byte of the answer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    since = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sock.sendall(
        (
            f"GET /api/v1/monitor/export.csv?region=3274&from={since}&bucket=1m HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"X-Forwarded-For: 10.1.0.{client_number}\r\n\r\n"
        ).encode()
    )
    return sock


async def test_stalled_exports_do_not_stall_a_push(
    start_server: StartServer, settings: Settings, factory: Factory
) -> None:
    await months_of_history(settings, factory)
    monitor_key = await factory.key("monitor")
    hospital_key = await factory.key("hospital", HOSPITAL)
    server = await start_server(trusted_proxies=["127.0.0.1/32"], db_pool_max=4)
    stalled = [stalled_export(server.port, monitor_key, n) for n in range(STALLED)]
    try:
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
            # The push comes once every export is answered into a socket nobody reads.
            await eventually(
                lambda: answered(stalled), lambda count: count == STALLED, "stalled exports", 30
            )
            started = time.monotonic()
            response = await http.post(
                f"/api/v1/hospitals/{HOSPITAL}/occupancy",
                json=report(ward("MAWAR"), minutes_ago=0),
                headers=bearer(hospital_key) | {"X-Forwarded-For": "10.2.0.1"},
            )
            elapsed = time.monotonic() - started
    finally:
        for sock in stalled:
            sock.close()

    assert elapsed < 5, f"the push took {elapsed:.1f} s"
    assert response.status_code == 200, response.text


async def test_a_wait_for_a_connection_ends_in_503_with_retry_after(
    start_server: StartServer, factory: Factory
) -> None:
    await factory.hospital(HOSPITAL)
    key = await factory.key("hospital", HOSPITAL)
    # No loops of the worker's own: the only connection is the pushes'.
    server = await start_server(
        db_pool_min=1, db_pool_max=1, db_acquire_timeout_seconds=0.2, background_loops=False
    )
    async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
        # The only connection, held as a stalled client would hold it.
        async with server.services.pool.acquire():
            started = time.monotonic()
            response = await http.post(
                f"/api/v1/hospitals/{HOSPITAL}/occupancy", json=report(ward()), headers=bearer(key)
            )
            elapsed = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        assert elapsed < 2
        # Given back, the connection serves the next push.
        again = await http.post(
            f"/api/v1/hospitals/{HOSPITAL}/occupancy", json=report(ward()), headers=bearer(key)
        )
        assert again.status_code == 200, again.text


async def session_alive(settings: Settings, pid: int) -> bool:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid))
    finally:
        await conn.close()


async def test_a_transaction_left_idle_is_ended_by_postgresql(settings: Settings) -> None:
    pool = await connect_pool(
        str(settings.database.database_url), 1, 1, idle_in_transaction_seconds=0.2
    )
    try:
        async with pool.acquire() as conn:
            transaction = conn.transaction()
            await transaction.start()
            await conn.execute("SELECT 1")
            pid = conn.get_server_pid()
            await eventually(
                lambda: session_alive(settings, pid),
                lambda alive: not alive,
                "PostgreSQL to end the idle transaction's session",
            )
            try:
                await conn.execute("SELECT 1")
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                ended: Exception | None = exc
            else:
                ended = None
            assert ended is not None, "the idle transaction was left open"
    finally:
        pool.terminate()
