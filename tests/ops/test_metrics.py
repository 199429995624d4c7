"""What an operator's Prometheus sees: pushes by route, outcome and bridge, the change feed,
live connections, and one scrape covering every worker of an instance."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from bedsvc.app import create_app
from bedsvc.ops.metrics_sampling import FeedLag
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.serve import ServeProcess, server_env

Client = AsyncTestClient[Litestar]

NATIVE_PUSH = "POST /api/v1/hospitals/{hospital_code}/occupancy"


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of one metric, by its labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def pushes(text: str, **labels: str) -> float:
    return sum(
        value
        for key, value in samples(text, "bedsvc_pushes_total").items()
        if all((k, v) in key for k, v in labels.items())
    )


async def test_pushes_are_counted_by_route_outcome_and_bridge(
    client: Client, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    url = f"/api/v1/hospitals/{code}/occupancy"
    before = (await client.get("/metrics")).text

    assert (await client.post(url, json=report(ward()), headers=bearer(key))).status_code == 200
    assert (await client.post(url, json=report(ward()), headers=bearer("nope"))).status_code == 401
    bad = report(ward(available=30))
    assert (await client.post(url, json=bad, headers=bearer(key))).status_code == 422

    after = (await client.get("/metrics")).text
    for outcome in ("accepted", "refused", "invalid"):
        labels = {"route": NATIVE_PUSH, "outcome": outcome, "bridge": "native"}
        assert pushes(after, **labels) - pushes(before, **labels) == 1, outcome
    durations = samples(after, "bedsvc_push_duration_seconds_count")
    assert durations[(("bridge", "native"),)] >= 3
    # Reads are not pushes.
    await client.get("/api/v1/availability")
    assert pushes((await client.get("/metrics")).text) == pushes(after)


async def test_the_feed_and_live_gauges_are_exposed(client_with_loops: Client) -> None:
    client = client_with_loops  # the worker's sampler is one of its background loops
    text = ""
    for _ in range(100):
        text = (await client.get("/metrics")).text
        if list(samples(text, "bedsvc_live_max_connections").values()) == [10_000]:
            break
        await asyncio.sleep(0.05)
    assert list(samples(text, "bedsvc_live_max_connections").values()) == [10_000]
    for name in (
        "bedsvc_feed_versions_behind",
        "bedsvc_feed_lag_seconds",
        "bedsvc_live_connections",
        "bedsvc_nearcache_rebuilds_total",
        "bedsvc_feed_changes_total",
    ):
        assert samples(text, name), name


async def test_rate_limited_pushes_are_counted(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    app = create_app(settings.replace(write_rate_limit_per_minute=1))
    labels = {"route": NATIVE_PUSH, "outcome": "rate_limited", "bridge": "native"}
    async with AsyncTestClient(app=app) as client:
        before = pushes((await client.get("/metrics")).text, **labels)
        url = f"/api/v1/hospitals/{code}/occupancy"
        statuses = [
            (await client.post(url, json=report(ward()), headers=bearer(key))).status_code
            for _ in range(2)
        ]
        after = pushes((await client.get("/metrics")).text, **labels)
    assert statuses == [200, 429]
    assert after - before == 1


def test_feed_lag_counts_from_when_the_database_got_ahead() -> None:
    lag = FeedLag()
    assert lag.sample(10, 10, now=100.0) == (0, 0.0)
    assert lag.sample(12, 10, now=101.0) == (2, 0.0)
    assert lag.sample(15, 11, now=103.0) == (4, 2.0)
    assert lag.sample(15, 12, now=104.0) == (3, 1.0)
    assert lag.sample(15, 15, now=105.0) == (0, 0.0)


@pytest.fixture
def two_workers(settings: Settings, clean: None, tmp_path: Path) -> Iterator[ServeProcess]:
    with ServeProcess(server_env(settings, tmp_path), "serve", "--workers", "2") as server:
        yield server


def pushes_per_worker(folder: Path, scratch: Path) -> dict[str, float]:
    """Each worker's own count, from its file in the multiprocess folder."""
    counts = {}
    for db in folder.glob("counter_*.db"):
        own = scratch / db.stem
        own.mkdir(exist_ok=True)
        shutil.copy(db, own / db.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(own))
        counts[db.stem] = sum(
            s.value
            for metric in registry.collect()
            for s in metric.samples
            if s.name == "bedsvc_pushes_total"
        )
    return counts


async def test_one_scrape_counts_the_pushes_of_every_worker(
    two_workers: ServeProcess, factory: Factory, tmp_path: Path
) -> None:
    server = two_workers
    await server.ready()
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    (folder,) = (tmp_path / "metrics").glob(f"serve-{server.process.pid}")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    start = datetime.now(UTC) - timedelta(hours=1)
    sent = itertools.count()

    async def push() -> None:
        # A connection per push: the kernel hands new connections to either worker.
        async with httpx.AsyncClient(base_url=server.http) as http:
            at = start + timedelta(seconds=next(sent))
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report(ward(), at=at),
                headers=bearer(key),
            )
            assert response.status_code == 200, response.text

    per_worker: dict[str, float] = {}
    pushed = 0
    # (The live process has a file of its own too, without pushes.)
    while sum(count > 0 for count in per_worker.values()) < 2:
        assert pushed < 400, f"the pushes did not spread over both workers: {per_worker}"
        await asyncio.gather(*(push() for _ in range(8)))
        pushed += 8
        per_worker = pushes_per_worker(folder, scratch)
    # A push is counted as its response goes out: the last ones may land just after it.
    for _ in range(100):
        total = sum(pushes_per_worker(folder, scratch).values())
        if total >= pushed:
            break
        await asyncio.sleep(0.02)
    assert total == pushed

    # Public reads answered by the fast path, counted in each worker and summed: they reach
    # the scrape with the next sample (every 2 s).
    reads = 20
    for _ in range(reads):
        async with httpx.AsyncClient(base_url=server.http) as http:
            assert (await http.get("/api/v1/availability")).status_code == 200
    fast = {}
    for _ in range(100):
        async with httpx.AsyncClient(base_url=server.http) as http:
            text = (await http.get("/metrics")).text
        fast = samples(text, "bedsvc_public_fast_responses_total")
        if sum(fast.values()) >= reads:
            break
        await asyncio.sleep(0.1)
    assert sum(fast.values()) == reads, fast

    for _ in range(4):  # whichever worker answers, it answers for both
        async with httpx.AsyncClient(base_url=server.http) as http:
            text = (await http.get("/metrics")).text
        assert pushes(text, outcome="accepted", route=NATIVE_PUSH) == total
        # Both workers' (and the live process's) gauges, whoever answers.
        assert len(samples(text, "bedsvc_live_max_connections")) >= 2
