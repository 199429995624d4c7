"""The Aplicares bridge probed as an attacker would: clocks ahead, odd timestamps, probing for
cons-ids, replays from elsewhere, inactive hospitals."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from ipaddress import ip_network
from pathlib import Path

import httpx
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.bridges.credentials import issue_aplicares
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory
from tests.support.aplicares import (
    BASE,
    PPK,
    Simrs,
    fetch,
    hospital_with_bridge,
    refused,
    room,
    run_cli,
)
from tests.support.live import StartServer

Client = AsyncTestClient[Litestar]


async def test_a_timestamp_ahead_of_the_clock_is_read_as_now(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    ahead = time.time() + settings.bridges.aplicares_max_skew_seconds - 5

    response = await simrs.post("create", room(), at=ahead)
    answered = datetime.now(UTC)

    assert response.status_code == 200, response.text
    [row] = await fetch(settings, "SELECT reported_at FROM wards")
    assert row["reported_at"] <= answered
    # So the next honest report, stamped with the real time, is not stale.
    await asyncio.sleep(1.1)  # X-timestamp has whole seconds
    honest = await simrs.post("update", room(tersedia="9"))
    assert honest.status_code == 200
    [row] = await fetch(settings, "SELECT available FROM wards")
    assert row["available"] == 9


async def test_non_numeric_timestamps_are_refused_in_the_envelope(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for stamp in ("nan", "NaN", "inf", "-inf", "1e9", "", " ", "12:00", "0x10", "1" * 20):
        headers = simrs.headers() | {"X-timestamp": stamp}
        response = await client.post(
            f"{BASE}/bed/create/{PPK}", content=msgspec.json.encode(room()), headers=headers
        )
        refused(response, 401, "X-timestamp" if stamp.strip() else "wajib dikirim")
    assert await fetch(settings, "SELECT 1 FROM wards") == []


async def test_wrong_signatures_are_throttled_per_cons_id(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    limit = settings.access.sign_in_max_failures
    statuses = [
        (await simrs.post("create", room(), secret=f"guess{i}")).status_code
        for i in range(limit + 1)
    ]
    assert statuses == [401] * limit + [429]
    locked = await simrs.post("create", room())
    refused(locked, 429, "Terlalu banyak")
    assert int(locked.headers["retry-after"]) > 0


async def test_an_inactive_hospital_cannot_write(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    assert (await simrs.post("create", room())).status_code == 200
    await factory.hospital("3274011", bpjs_ppk_code=PPK, active=False)

    refused(await simrs.post("update", room(tersedia="1")), 403, "tidak aktif")
    refused(await simrs.post("delete", {"koderuang": "MAWAR"}), 403, "tidak aktif")
    [row] = await fetch(settings, "SELECT available, closed_at FROM wards")
    assert (row["available"], row["closed_at"]) == (3, None)


async def test_a_credential_limited_to_addresses_refuses_others(
    start_server: StartServer, factory: Factory, services: Services, settings: Settings
) -> None:
    await factory.hospital("3274011", bpjs_ppk_code=PPK)
    pool, queries, box = services.pool, services.queries, services.secret_box
    local = await issue_aplicares(pool, queries, box, "3274011", "", [ip_network("127.0.0.0/8")])
    elsewhere = await issue_aplicares(
        pool, queries, box, "3274011", "", [ip_network("10.1.2.0/24")]
    )
    server = await start_server()
    async with httpx.AsyncClient(base_url=server.http) as http:
        for credential, status in ((local, 200), (elsewhere, 403)):
            headers = Simrs(http, credential).headers()  # type: ignore[arg-type]
            response = await http.post(
                f"{BASE}/bed/create/{PPK}", content=msgspec.json.encode(room()), headers=headers
            )
            assert response.status_code == status, response.text
    refused(response, 403, "tidak boleh dipakai dari alamat 127.0.0.1")


async def test_cli_limits_a_credential_to_addresses(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    await factory.hospital("3274011", bpjs_ppk_code=PPK)
    args = ("keys", "issue", "--hospital", "3274011", "--aplicares")

    bad = await asyncio.to_thread(run_cli, settings, tmp_path, *args, "--allow-from", "kantor")
    assert bad.exit_code != 0
    assert "kantor" in bad.output
    allowed = ("--allow-from", "203.0.113.7", "--allow-from", "10.0.0.0/8")
    good = await asyncio.to_thread(run_cli, settings, tmp_path, *args, *allowed)
    assert good.exit_code == 0, good.output
    cons_id = good.output.splitlines()[0].removeprefix("cons_id: ")
    [row] = await fetch(
        settings, "SELECT allowed_addresses FROM aplicares_credentials WHERE cons_id = $1", cons_id
    )
    assert row["allowed_addresses"] == [ip_network("203.0.113.7/32"), ip_network("10.0.0.0/8")]


async def test_room_codes_follow_the_ward_code_rule(
    client: Client, factory: Factory, services: Services, settings: Settings
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    # Surrounding spaces are trimmed, as SIMRS pad fields; inside, the ward code rule holds.
    for code in ("VIP 1", "A\x00B", "W1\nW2", "-MAWAR", "x" * 65, "R\u202e1"):
        refused(await simrs.post("create", room() | {"koderuang": code}), 422, "koderuang")
    name = room() | {"namaruang": "Ruang\x00Mawar"}
    refused(await simrs.post("create", name), 422, "namaruang")
    assert await fetch(settings, "SELECT 1 FROM wards") == []


async def test_deeply_nested_json_is_refused_in_the_envelope(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for nested in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5000 + b"1" + b"}" * 5000):
        response = await client.post(
            f"{BASE}/bed/create/{PPK}", content=nested, headers=simrs.headers()
        )
        refused(response, 400, "bertingkat")


async def test_an_unknown_ppk_code_of_any_shape_is_not_found(
    client: Client, factory: Factory, services: Services
) -> None:
    simrs = Simrs(client, await hospital_with_bridge(factory, services))
    for ppk in ("0000X999", "%00", "A%0AB"):
        response = await client.post(
            f"{BASE}/bed/create/{ppk}", content=msgspec.json.encode(room()), headers=simrs.headers()
        )
        refused(response, 404, "tidak terdaftar")
