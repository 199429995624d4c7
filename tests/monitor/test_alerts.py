"""Alerts: one record and one delivery per transition, however many workers evaluate; webhook
retries with backoff; the worker's background task; the alerts API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from bedsvc.app import build_services, create_app
from bedsvc.monitor.alerts import deliver_due, evaluate
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.alerts import (
    Receiver,
    alert_settings,
    deliver_all,
    direct,
    icu_region,
    rows,
    set_icu,
)
from tests.support.region import Client, push


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


Push = Callable[[str, dict[str, Any]], Awaitable[object]]


def over_http(client: Client, key: str) -> Push:
    async def push_report(code: str, body: dict[str, Any]) -> object:
        return await push(client, key, code, body)

    return push_report


async def test_class_exhausted_fires_once_per_transition(
    factory: Factory, services: Services, settings: Settings, receiver: Receiver
) -> None:
    config = alert_settings(settings, alert_webhook_urls=[receiver.url])
    pusher = await icu_region(factory)

    async def step() -> tuple[int, int]:
        result = await evaluate(services.pool, services.queries, config, services.stale_after)
        await deliver_all(services, config)
        return len(result.fired), len(result.resolved)

    assert await step() == (0, 0)
    await set_icu(pusher, 0)
    assert await step() == (1, 0)
    assert await step() == (0, 0)  # still exhausted: no second alert
    await set_icu(pusher, 2)
    assert await step() == (0, 1)
    assert await step() == (0, 0)
    await set_icu(pusher, 0)
    assert await step() == (1, 0)

    assert receiver.events() == [
        ("fired", "class_exhausted", "3274/ICU"),
        ("resolved", "class_exhausted", "3274/ICU"),
        ("fired", "class_exhausted", "3274/ICU"),
    ]
    first = receiver.calls[0]["alert"]
    assert first["region_code"] == "3274"
    assert first["bed_class"] == "ICU"
    assert first["resolved_at"] is None
    assert receiver.calls[1]["alert"]["id"] == first["id"]
    assert receiver.calls[1]["alert"]["resolved_at"] is not None
    stored = await rows(
        services, "SELECT rule, resolved_at IS NULL AS open FROM alerts ORDER BY id"
    )
    assert [(r["rule"], r["open"]) for r in stored] == [
        ("class_exhausted", False),
        ("class_exhausted", True),
    ]


async def test_several_workers_record_and_deliver_each_transition_once(
    factory: Factory, settings: Settings, receiver: Receiver
) -> None:
    config = alert_settings(settings, alert_webhook_urls=[receiver.url])
    pusher = await icu_region(factory)
    workers = [await build_services(config) for _ in range(4)]
    try:
        await set_icu(pusher, 0)

        async def worker_round(services: Services) -> None:
            await evaluate(services.pool, services.queries, config, services.stale_after)
            async with httpx.AsyncClient(timeout=2) as http:
                await deliver_due(services.pool, services.queries, config, http)

        for _ in range(3):
            await asyncio.gather(*(worker_round(w) for w in workers))
        await set_icu(pusher, 3)
        for _ in range(3):
            await asyncio.gather(*(worker_round(w) for w in workers))

        assert receiver.events() == [
            ("fired", "class_exhausted", "3274/ICU"),
            ("resolved", "class_exhausted", "3274/ICU"),
        ]
        deliveries = await rows(workers[0], "SELECT event, attempts FROM alert_deliveries")
        assert sorted((d["event"], d["attempts"]) for d in deliveries) == [
            ("fired", 1),
            ("resolved", 1),
        ]
    finally:
        for services in workers:
            await services.redis.aclose()
            await services.pool.close()


async def test_webhook_is_retried_with_backoff_then_given_up(
    factory: Factory, services: Services, settings: Settings
) -> None:
    pusher = await icu_region(factory)
    await set_icu(pusher, 0)
    with Receiver(failures=2) as flaky, Receiver(failures=100) as broken:
        config = alert_settings(
            settings, alert_webhook_urls=[flaky.url, broken.url], alert_webhook_max_attempts=4
        )
        await evaluate(services.pool, services.queries, config, services.stale_after)
        began = asyncio.get_running_loop().time()
        await deliver_all(services, config)
        elapsed = asyncio.get_running_loop().time() - began

        assert [c["attempt"] for c in flaky.calls] == [1, 2, 3]
        assert [c["attempt"] for c in broken.calls] == [1, 2, 3, 4]
    # Waits of 0.05, 0.1 and 0.2 s (capped) between the four attempts.
    assert elapsed >= 0.3
    outcome = await rows(
        services,
        "SELECT url, attempts, delivered_at IS NOT NULL AS delivered,"
        " failed_at IS NOT NULL AS failed, last_error FROM alert_deliveries ORDER BY id",
    )
    assert [(r["attempts"], r["delivered"], r["failed"]) for r in outcome] == [
        (3, True, False),
        (4, False, True),
    ]
    assert outcome[1]["last_error"] == "HTTP 503"


async def test_silent_hospital_fires_and_a_report_resolves_it(
    factory: Factory, services: Services, settings: Settings
) -> None:
    config = alert_settings(settings)
    await factory.hospital("3274011", "3274")
    push_report = direct(services)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    await push_report("3274011", report(ward("MAWAR", "KL3", 20, 4), at=long_ago))

    fired = await evaluate(services.pool, services.queries, config, timedelta(minutes=30))
    await push_report("3274011", report(ward("MAWAR", "KL3", 20, 3)))
    resolved = await evaluate(services.pool, services.queries, config, timedelta(minutes=30))

    assert len(fired.fired) == 1
    assert resolved.resolved == fired.fired
    [alert] = await rows(services, "SELECT rule, subject, hospital_code, message FROM alerts")
    assert (alert["rule"], alert["subject"], alert["hospital_code"]) == (
        "hospital_stale",
        "3274011",
        "3274011",
    )
    assert "3274011" in alert["message"]


async def test_rules_can_be_limited(
    factory: Factory, services: Services, settings: Settings
) -> None:
    pusher = await icu_region(factory)
    await set_icu(pusher, 0)
    other_classes = alert_settings(settings, alert_bed_classes=["NICU"])
    no_rules = alert_settings(settings, alert_rules=[])

    for config in (other_classes, no_rules):
        result = await evaluate(services.pool, services.queries, config, services.stale_after)
        assert result.fired == []


@pytest.fixture
async def fast_alert_client(
    settings: Settings, clean: None, receiver: Receiver
) -> AsyncIterator[AsyncTestClient[Any]]:
    config = alert_settings(settings, alert_interval_seconds=0.2, alert_webhook_urls=[receiver.url])
    async with AsyncTestClient(app=create_app(config)) as test_client:
        yield test_client


async def test_worker_evaluates_in_the_background_and_lists_alerts(
    fast_alert_client: Client, factory: Factory, receiver: Receiver
) -> None:
    client = fast_alert_client
    await factory.hospital("3274011", "3274")
    hospital_key = await factory.key(hospital_code="3274011")
    pusher = over_http(client, hospital_key)
    await pusher("3274011", report(ward("ICU1", "ICU", 6, 1)))
    monitor_key = await factory.key("monitor")
    await set_icu(pusher, 0)

    listed: list[dict[str, Any]] = []
    for _ in range(50):
        response = await client.get("/api/v1/monitor/alerts", headers=bearer(monitor_key))
        listed = response.json()
        if listed and listed[0]["delivered"] == 1:
            break
        await asyncio.sleep(0.1)

    assert len(listed) == 1
    alert = listed[0]
    assert (alert["rule"], alert["subject"], alert["resolved_at"]) == (
        "class_exhausted",
        "3274/ICU",
        None,
    )
    assert (alert["deliveries"], alert["delivered"], alert["failed"]) == (1, 1, 0)
    assert receiver.events() == [("fired", "class_exhausted", "3274/ICU")]
    open_only = await client.get(
        "/api/v1/monitor/alerts", params={"open_only": "true"}, headers=bearer(monitor_key)
    )
    assert [a["id"] for a in open_only.json()] == [alert["id"]]
