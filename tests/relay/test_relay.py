"""The relay end to end: bedsvc forwards each hospital's reports to SIRS Online and Aplicares,
played by other bedsvc instances' bridges over real HTTP, through an outage of one of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.relay.cli import set_from_cli
from bedsvc.settings import Settings
from tests.support import Factory, bearer
from tests.support.relay import RegistryServer, register
from tests.support.waits import eventually

# One worker runs the module: its tests share the module's two registry servers.
pytestmark = pytest.mark.xdist_group("registries")

Client = AsyncTestClient[Litestar]

CODES = ["3274011", "3274012", "3274013", "3274014"]
# (bed class, ward): one ward of each class the acceptance names.
WARDS = [("KL1", "MELATI"), ("KL3", "MAWAR"), ("ICU", "ICU"), ("VIP", "ANGGREK")]
CAPACITY = 100
Shown = dict[str, tuple[int, int]]


def report(n: int) -> dict[str, Any]:
    """The n-th report: every class has n more free beds than at the start."""
    return {
        "reported_at": datetime.now(UTC).isoformat(),
        "wards": [
            {
                "ward_code": ward,
                "name": f"Ruang {ward.title()}",
                "bed_class": bed_class,
                "capacity": CAPACITY,
                "available": 10 + n,
            }
            for bed_class, ward in WARDS
        ],
    }


def expected(n: int) -> Shown:
    return {bed_class: (CAPACITY, 10 + n) for bed_class, _ in WARDS}


def relayed(settings: Settings, registries: dict[str, RegistryServer]) -> Settings:
    """A short minimum interval, to be quick; the default backoff (5 s doubling to 300 s), so
    that catching up after an outage is shown as operators get it."""
    return settings.replace(
        relay_sirs_url=registries["sirs"].sirs_url,
        relay_aplicares_url=registries["aplicares"].aplicares_url,
        relay_min_interval_seconds=0.5,
        relay_timeout_seconds=2.0,
        write_rate_limit_per_minute=100_000,
    )


def ppk(code: str) -> str:
    return f"1{code[-3:]}R001"


async def set_up(
    settings: Settings,
    factory: Factory,
    registries: dict[str, RegistryServer],
    codes: list[str] = CODES,
) -> dict[str, str]:
    """The hospitals here and at both registries, relayed with the credentials the registries
    issued; the hospitals' push keys."""
    ppk_codes = {code: ppk(code) for code in codes}
    issued = {name: await register(r, codes, ppk_codes) for name, r in registries.items()}
    keys = {}
    assert settings.database.database_url is not None
    for code in codes:
        await factory.hospital(code, bpjs_ppk_code=ppk(code))
        keys[code] = await factory.key(hospital_code=code)
        rs_id, password = issued["sirs"][code]
        await set_from_cli(settings, settings.database.database_url, code, "sirs", rs_id, password)
        cons_id, secret = issued["aplicares"][code]
        await set_from_cli(
            settings, settings.database.database_url, code, "aplicares", cons_id, secret
        )
    return keys


async def push_all(client: Client, keys: dict[str, str], n: int) -> list[int]:
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/hospitals/{code}/occupancy", json=report(n), headers=bearer(key))
            for code, key in keys.items()
        )
    )
    return [r.status_code for r in responses]


async def shown(http: httpx.AsyncClient, registry: RegistryServer) -> dict[str, Shown]:
    return {code: await registry.classes(http, code) for code in CODES}


async def until_shown(
    http: httpx.AsyncClient, registry: RegistryServer, want: Shown, within: float
) -> float:
    """Seconds until the registry shows `want` for every hospital, or an AssertionError."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen: dict[str, Shown] = {}
    while loop.time() - started < within:
        with contextlib.suppress(httpx.TransportError):
            seen = await shown(http, registry)
            if all(seen[code] == want for code in CODES):
                return loop.time() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"{registry.http} shows {seen}, not {want} after {within} s")


class Watch:
    """Samples both registries: free beds of a hospital's class must never go backwards."""

    def __init__(self, registries: dict[str, RegistryServer]) -> None:
        self.registries = registries
        self.last: dict[tuple[str, str, str], int] = {}
        self.backwards: list[str] = []
        self.samples = 0

    async def run(self, http: httpx.AsyncClient) -> None:
        while True:
            for name, registry in self.registries.items():
                with contextlib.suppress(httpx.TransportError):
                    for code, classes in (await shown(http, registry)).items():
                        for bed_class, (_, free) in classes.items():
                            key = (name, code, bed_class)
                            before = self.last.get(key, -1)
                            if free < before:
                                self.backwards.append(f"{key}: {before} -> {free}")
                            self.last[key] = max(before, free)
                    self.samples += 1
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running(task: asyncio.Task[None]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def relay_states(client: Client, key: str) -> dict[tuple[str, str], Any]:
    response = await client.get("/api/v1/monitor/relay", headers=bearer(key))
    assert response.status_code == 200, response.text
    return {(r["hospital_code"], r["registry"]): r for r in response.json()["relays"]}


async def all_current(client: Client, key: str) -> None:
    """A registry shows a send's data before its worker records it as sent: wait for that."""
    await eventually(
        lambda: relay_states(client, key),
        lambda relays: {r["state"] for r in relays.values()} == {"current"},
        "every relay current",
    )


async def test_reports_reach_both_registries_through_an_outage(
    settings: Settings,
    factory: Factory,
    registries: dict[str, RegistryServer],
    tmp_path: Path,
) -> None:
    configured = relayed(settings, registries)
    keys = await set_up(configured, factory, registries)
    monitor = await factory.key("monitor")
    statuses: list[int] = []
    async with (
        AsyncTestClient(app=create_app(configured)) as client,
        httpx.AsyncClient(timeout=5) as http,
    ):
        for n in (1, 2, 3):
            statuses += await push_all(client, keys, n)
        # Both registries show what was reported, per class, within 15 s.
        await asyncio.gather(
            *(until_shown(http, r, expected(3), within=15) for r in registries.values())
        )
        await all_current(client, monitor)

        watch = Watch(registries)
        async with running(asyncio.create_task(watch.run(http))):
            sirs = registries["sirs"]
            sirs.kill()
            n = 3
            loop = asyncio.get_running_loop()
            outage_ends = loop.time() + 12
            while loop.time() < outage_ends:
                n += 1
                statuses += await push_all(client, keys, n)
                await asyncio.sleep(0.4)
            states = await relay_states(client, monitor)
            down = states[CODES[0], "sirs"]
            assert down["state"] == "failing", down
            assert down["last_error"] == "unreachable", down
            # Aplicares kept up meanwhile.
            await until_shown(http, registries["aplicares"], expected(n), within=10)

            await sirs.start()
            restarted = loop.time()
            n += 1
            statuses += await push_all(client, keys, n)
            await until_shown(http, sirs, expected(n), within=30)
            caught_up = loop.time() - restarted
            await until_shown(http, registries["aplicares"], expected(n), within=10)
            await asyncio.sleep(0.5)  # one more sample of both at the end

        assert caught_up < 30
        assert statuses == [200] * len(statuses)
        assert watch.samples > 10
        assert watch.backwards == []
        await all_current(client, monitor)


async def test_a_closed_ward_leaves_both_registries(
    settings: Settings, factory: Factory, registries: dict[str, RegistryServer]
) -> None:
    configured = relayed(settings, registries)
    # Hospitals of its own: the registries keep those of the test before.
    codes = ["3274021", "3274022"]
    keys = await set_up(configured, factory, registries, codes)
    code, key = codes[0], keys[codes[0]]
    async with (
        AsyncTestClient(app=create_app(configured)) as client,
        httpx.AsyncClient(timeout=5) as http,
    ):
        pushed = await client.post(
            f"/api/v1/hospitals/{code}/occupancy", json=report(1), headers=bearer(key)
        )
        assert pushed.status_code == 200, pushed.text
        for registry in registries.values():
            await until_classes(http, registry, code, expected(1), within=15)

        closed = await client.delete(f"/api/v1/hospitals/{code}/wards/ICU", headers=bearer(key))
        assert closed.status_code == 200, closed.text
        left = {c: v for c, v in expected(1).items() if c != "ICU"}
        for registry in registries.values():
            await until_classes(http, registry, code, left, within=15)

        # A ward renamed and moved to another class keeps its row: no KL3 left behind.
        moved = report(1)
        moved["wards"] = [
            {"ward_code": "MAWAR", "name": "Ruang Mawar Baru", "bed_class": "KL2",
             "capacity": CAPACITY, "available": 12},
        ]  # fmt: skip
        pushed = await client.post(
            f"/api/v1/hospitals/{code}/occupancy", json=moved, headers=bearer(key)
        )
        assert pushed.status_code == 200, pushed.text
        left = {c: v for c, v in left.items() if c != "KL3"} | {"KL2": (CAPACITY, 12)}
        for registry in registries.values():
            await until_classes(http, registry, code, left, within=15)
        sirs_rows = await registries["sirs"].classes(http, code)
        assert "KL3" not in sirs_rows

        # The hospital sees that its last change reached both registries.
        version = pushed.json()["version"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            own = await client.get(f"/api/v1/hospitals/{code}/relay", headers=bearer(key))
            assert own.status_code == 200, own.text
            relays = own.json()["relays"]
            if {(r["state"], r["sent_version"]) for r in relays} == {("current", version)}:
                break
            assert loop.time() < deadline, relays
            await asyncio.sleep(0.1)
        other = await client.get(f"/api/v1/hospitals/{codes[1]}/relay", headers=bearer(key))
        assert other.status_code == 403


async def until_classes(
    http: httpx.AsyncClient, registry: RegistryServer, code: str, want: Shown, within: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen: Shown = {}
    while loop.time() < deadline:
        seen = await registry.classes(http, code)
        if seen == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{registry.http} shows {seen} for {code}, not {want}")
