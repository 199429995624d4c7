"""Simulated hospital systems pushing reports, and the probe of how fast every worker sees one."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from loadtests.dataset import Hospital

_encoder = msgspec.json.Encoder()


@dataclass
class PushStats:
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.latencies) or [0.0]
        return {
            "pushes_per_second": round(self.acknowledged / seconds, 1),
            "failed": self.failed,
            "failed_statuses": {str(k): v for k, v in self.statuses.items() if k != 200},
            "push_p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "push_p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 1),
        }


async def push_report(
    client: httpx.AsyncClient, hospital: Hospital, key: str, rng: random.Random
) -> httpx.Response:
    hospital.step(rng)
    body = _encoder.encode(hospital.report(datetime.now(UTC)))
    return await client.post(
        f"/api/v1/hospitals/{hospital.code}/occupancy",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


@contextlib.asynccontextmanager
async def pushing(
    base_url: str, hospitals: list[Hospital], keys: dict[str, str], rate: float
) -> AsyncIterator[PushStats]:
    """Pushes `rate` reports per second, round robin over the hospitals, while in the block."""
    stats = PushStats()
    rng = random.Random(11)
    limits = httpx.Limits(max_connections=32)

    async def one(client: httpx.AsyncClient, hospital: Hospital) -> None:
        started = time.perf_counter()
        try:
            response = await push_report(client, hospital, keys[hospital.code], rng)
        except httpx.HTTPError:
            stats.failed += 1
            return
        stats.statuses[response.status_code] += 1
        if response.status_code == 200:
            stats.acknowledged += 1
            stats.latencies.append(time.perf_counter() - started)
        else:
            stats.failed += 1

    # The pushes in flight: waited for when the block ends. Closed under them, the client
    # would fail them itself (httpx.ReadError), and they would count as the server's failures.
    tasks: set[asyncio.Task[None]] = set()

    async def run(client: httpx.AsyncClient) -> None:
        start = time.perf_counter()
        for n, hospital in enumerate(itertools.cycle(hospitals)):
            # Paced from the start time, so a slow push does not lower the rate.
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            stats.sent += 1
            task = asyncio.create_task(one(client, hospital))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        runner = asyncio.create_task(run(client))
        try:
            yield stats
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await asyncio.gather(*tasks)


def _version(etag: str) -> int:
    return int(etag.removeprefix('W/"').split(".")[0])


async def _until_version(client: httpx.AsyncClient, code: str, version: int) -> tuple[float, int]:
    """Reads the hospital until it comes back at `version` (the version its push answered)
    or later; returns when, and how many requests that took."""
    attempts = 0
    while True:
        attempts += 1
        response = await client.get(f"/api/v1/hospitals/{code}")
        if response.status_code == 200 and _version(response.headers["etag"]) >= version:
            return time.perf_counter(), attempts


async def freshness(
    base_urls: list[str], hospitals: list[Hospital], keys: dict[str, str], pushes: int
) -> dict[str, float]:
    """After each acknowledged push, how long until every worker serves the new version."""
    rng = random.Random(13)
    clients = [httpx.AsyncClient(base_url=url, timeout=10) for url in base_urls]
    delays: list[float] = []
    at_once = 0  # workers whose first request after the acknowledgement had the change
    try:
        for n in range(pushes):
            hospital = hospitals[n % len(hospitals)]
            via = clients[n % len(clients)]  # the push lands on each worker in turn
            response = await push_report(via, hospital, keys[hospital.code], rng)
            acknowledged = time.perf_counter()
            response.raise_for_status()
            version = response.json()["version"]
            seen = await asyncio.gather(
                *(_until_version(c, hospital.code, version) for c in clients)
            )
            delays.append(max(at for at, _ in seen) - acknowledged)
            at_once += sum(attempts == 1 for _, attempts in seen)
            await asyncio.sleep(0.02)
    finally:
        for client in clients:
            await client.aclose()
    ordered = sorted(delays)
    return {
        "pushes": pushes,
        "workers": len(base_urls),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "first_request_already_new": round(at_once / (pushes * len(base_urls)), 3),
    }
