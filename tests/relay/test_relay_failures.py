"""The relay against a registry that misbehaves: down, slow, failing, refusing the credential,
asking to wait. The registry is a small real HTTP server speaking SIRS Online's envelope."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from bedsvc.app import create_app
from bedsvc.monitor.alerts import evaluate
from bedsvc.relay.failures import backoff, retry_after
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.alerts import Receiver, alert_settings, deliver_all
from tests.support.fake_sirs import CODE, PASSWORD, FakeSirs

Client = AsyncTestClient[Litestar]


@pytest.fixture
def fake() -> Iterator[FakeSirs]:
    registry = FakeSirs()
    registry.start()
    yield registry
    registry.stop()


def relayed(settings: Settings, fake: FakeSirs, **changes: Any) -> Settings:
    return settings.replace(
        **{
            "relay_sirs_url": fake.url,
            "relay_min_interval_seconds": 0.2,
            "relay_timeout_seconds": 0.5,
            "relay_backoff_seconds": 0.2,
            "relay_backoff_max_seconds": 0.4,
            "write_rate_limit_per_minute": 100_000,
        }
        | changes
    )


class Hospital:
    def __init__(self, client: Client, key: str, monitor: str) -> None:
        self.client = client
        self.key = key
        self.monitor = monitor
        self.pushes = 0

    async def push(self, available: int) -> float:
        """Reports the ward with `available` free beds; how long the answer took."""
        self.pushes += 1
        started = time.monotonic()
        response = await self.client.post(
            f"/api/v1/hospitals/{CODE}/occupancy",
            json=report(ward("MAWAR", "KL3", 20, available), minutes_ago=0),
            headers=bearer(self.key),
        )
        assert response.status_code == 200, response.text
        return time.monotonic() - started

    async def relay(self) -> dict[str, Any]:
        response = await self.client.get("/api/v1/monitor/relay", headers=bearer(self.monitor))
        assert response.status_code == 200, response.text
        (sirs,) = [r for r in response.json()["relays"] if r["registry"] == "sirs"]
        return dict(sirs)

    async def until(
        self, state: str, error: str | None = None, within: float = 10
    ) -> dict[str, Any]:
        deadline = time.monotonic() + within
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            seen = await self.relay()
            if seen["state"] == state and seen["last_error"] == error:
                return seen
            await asyncio.sleep(0.05)
        raise AssertionError(f"relay is {seen}, expected {state} / {error}")

    async def set_credential(self, admin: str, password: str = PASSWORD) -> None:
        response = await self.client.put(
            f"/api/v1/admin/hospitals/{CODE}/relay/sirs",
            json={"rs_id": CODE, "password": password},
            headers=bearer(admin),
        )
        assert response.status_code == 200, response.text


@pytest.fixture
async def start(settings: Settings, factory: Factory) -> AsyncIterator[Any]:
    """Starts the app relaying to `fake` (with setting overrides); one hospital, relayed."""
    clients: list[Client] = []

    async def started(fake: FakeSirs, password: str = PASSWORD, **changes: Any) -> Hospital:
        await factory.hospital(CODE)
        admin = await factory.key("admin")
        client = AsyncTestClient(app=create_app(relayed(settings, fake, **changes)))
        await client.__aenter__()
        clients.append(client)
        hospital = Hospital(
            client, await factory.key(hospital_code=CODE), await factory.key("monitor")
        )
        await hospital.set_credential(admin, password)
        return hospital

    yield started
    for client in clients:
        await client.__aexit__(None, None, None)


async def until(condition: Any, what: str, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


async def test_sends_the_latest_state_at_most_once_per_interval(fake: FakeSirs, start: Any) -> None:
    hospital = await start(fake, relay_min_interval_seconds=1.0)
    for available in range(1, 16):
        await hospital.push(available)
        await asyncio.sleep(0.1)
    await until(lambda: fake.free_beds() == 15, "the registry shows the last report")
    await hospital.until("current")
    lists = [at for at, method, _ in fake.requests if method == "GET"]
    assert 1 <= len(lists) <= 3, lists  # 1.5 s of reports, 1 s apart at most
    gaps = [b - a for a, b in itertools.pairwise(lists)]
    assert all(gap >= 0.9 for gap in gaps), gaps


@pytest.mark.parametrize("mode", ["401", "401-envelope"])
async def test_a_refused_credential_is_not_retried_until_set_again(
    fake: FakeSirs, start: Any, factory: Factory, services: Services, settings: Settings, mode: str
) -> None:
    fake.mode = mode
    hospital = await start(fake)
    await hospital.push(3)
    failing = await hospital.until("failing", "credential_refused")
    assert "salah" in failing["last_error_detail"]
    tried = len(fake.requests)
    await hospital.push(4)
    await asyncio.sleep(1.0)  # five backoffs' worth
    assert len(fake.requests) == tried

    # The health office is told, like of any alert.
    with Receiver() as receiver:
        configured = alert_settings(
            relayed(settings, fake),
            alert_rules=["relay_failing"],
            alert_webhook_urls=[receiver.url],
        )
        await evaluate(services.pool, services.queries, configured, services.stale_after)
        await deliver_all(services, configured)
        assert receiver.events() == [("fired", "relay_failing", f"{CODE}/sirs")]
        assert "kata sandi ditolak" in receiver.calls[0]["alert"]["message"]

    fake.mode = "ok"
    await hospital.set_credential(await factory.key("admin"))
    await until(lambda: fake.free_beds() == 4, "the registry shows the state after the refusal")
    await hospital.until("current")


def sends(outcome: str) -> float:
    labels = {"registry": "sirs", "outcome": outcome}
    return REGISTRY.get_sample_value("bedsvc_relay_sends_total", labels) or 0.0


def lag() -> float:
    return REGISTRY.get_sample_value("bedsvc_relay_lag_seconds", {"registry": "sirs"}) or 0.0


async def test_server_errors_are_retried_with_backoff(fake: FakeSirs, start: Any) -> None:
    fake.mode = "500"
    failed, sent = sends("server_error"), sends("sent")
    hospital = await start(fake)
    await hospital.push(3)
    # Counted once the worker has the registry's answer, a moment after the registry saw
    # the request.
    await until(lambda: sends("server_error") >= failed + 3, "three failed sends counted")
    assert len(fake.requests) >= 3
    failing = await hospital.relay()
    assert (failing["state"], failing["last_error"]) == ("failing", "server_error")
    times = [at for at, _, _ in fake.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # half of the first backoff at least
    fake.mode = "ok"
    await until(lambda: fake.free_beds() == 3, "the registry shows the report")
    await hospital.until("current")
    assert sends("sent") == sent + 1


async def test_rate_limit_waits_for_retry_after(fake: FakeSirs, start: Any) -> None:
    fake.mode = "429"
    hospital = await start(fake)
    await hospital.push(5)
    await until(lambda: len(fake.requests) >= 1, "a first attempt")
    await hospital.until("failing", "rate_limited")
    fake.mode = "ok"
    await until(lambda: fake.free_beds() == 5, "the registry shows the report", within=5)
    first, second = fake.requests[0][0], fake.requests[1][0]
    assert second - first >= 1.9  # Retry-After: 2, not the 0.2 s backoff
    await hospital.until("current")


async def test_a_slow_registry_never_slows_a_push(fake: FakeSirs, start: Any) -> None:
    fake.mode = "slow"
    hospital = await start(fake)
    await hospital.push(1)
    await until(lambda: fake.in_flight > 0, "the registry to hold a request")
    took = [await hospital.push(available) for available in range(2, 7)]
    assert max(took) < 1.0, took  # while the registry holds each request 3 s
    await hospital.until("failing", "timeout")
    fake.mode = "ok"
    await until(lambda: fake.free_beds() == 6, "the registry shows the last report")


async def test_workers_of_several_instances_send_one_at_a_time(
    fake: FakeSirs, settings: Settings, factory: Factory
) -> None:
    await factory.hospital(CODE)
    admin, key = await factory.key("admin"), await factory.key(hospital_code=CODE)
    fake.delay = 0.05
    configured = relayed(settings, fake, relay_min_interval_seconds=0.1)
    async with (
        AsyncTestClient(app=create_app(configured)) as one,
        AsyncTestClient(app=create_app(configured)) as two,
    ):
        hospital = Hospital(one, key, await factory.key("monitor"))
        await hospital.set_credential(admin)
        for available in range(1, 21):
            client = one if available % 2 else two
            response = await client.post(
                f"/api/v1/hospitals/{CODE}/occupancy",
                json=report(ward("MAWAR", "KL3", 20, available), minutes_ago=0),
                headers=bearer(key),
            )
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.05)
        await until(lambda: fake.free_beds() == 20, "the registry shows the last report")
        await hospital.until("current")
    assert fake.most_in_flight == 1
    assert len(fake.rows[CODE]) == 1  # one row, updated: never added twice


async def test_a_slow_hospital_holds_up_only_its_own_sends(
    fake: FakeSirs, settings: Settings, factory: Factory
) -> None:
    slow, quick = CODE, "3274012"
    fake.slow_for = {slow}
    admin = await factory.key("admin")
    keys = {}
    for code in (slow, quick):
        await factory.hospital(code)
        keys[code] = await factory.key(hospital_code=code)
    configured = relayed(settings, fake, relay_timeout_seconds=5.0)
    async with AsyncTestClient(app=create_app(configured)) as client:
        for code in (slow, quick):
            response = await client.put(
                f"/api/v1/admin/hospitals/{code}/relay/sirs",
                json={"rs_id": code, "password": PASSWORD},
                headers=bearer(admin),
            )
            assert response.status_code == 200, response.text
        for available in (1, 2, 3):
            for code in (slow, quick):
                response = await client.post(
                    f"/api/v1/hospitals/{code}/occupancy",
                    json=report(ward("MAWAR", "KL3", 20, available), minutes_ago=0),
                    headers=bearer(keys[code]),
                )
                assert response.status_code == 200, response.text
            await asyncio.sleep(0.3)
        # Each request of the slow one takes 3 s: it has not got its first list yet.
        await until(lambda: fake.free_beds(quick) == 3, "the quick hospital's last report", 2.5)
        assert fake.free_beds(slow) is None


async def test_a_registry_that_is_down_is_caught_up_when_it_returns(start: Any) -> None:
    down = FakeSirs()  # not listening yet
    hospital = await start(down)
    for available in range(1, 4):
        await hospital.push(available)
    await hospital.until("failing", "unreachable")
    await until(lambda: lag() > 0, "the lag gauge to show the wait")
    down.start()
    try:
        await until(lambda: down.free_beds() == 3, "the registry shows the last report")
        await hospital.until("current")
        await until(lambda: lag() == 0, "the lag gauge to return to 0")
    finally:
        down.stop()


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    delays = [backoff(n, 5.0, 300.0) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        full = min(5.0 * 2 ** (n - 1), 300.0)
        assert full / 2 <= delay <= full
    assert len({round(backoff(3, 5.0, 300.0), 6) for _ in range(20)}) > 1


def test_retry_after_reads_seconds_and_dates() -> None:
    import httpx

    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("7")) == 7.0
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(429)) is None
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, 8, 0, 0, tzinfo=UTC)
    assert retry_after(answer("Sun, 06 Dec 2026 08:00:30 GMT"), now) == 30.0
