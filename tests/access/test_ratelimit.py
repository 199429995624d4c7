"""Rate limits: per credential for keyed requests, per client address for the rest, counted in
Redis so that every worker and instance shares them, and per process while Redis is down."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.ratelimit.counter import RateCounter
from bedsvc.settings import Settings
from tests.support import Factory, RedisProcess, bearer
from tests.support.clock import StoppedClock, stop_rate_limit_clock

Client = AsyncTestClient[Litestar]


def limited(settings: Settings, per_key: int = 1000, per_address: int = 1000) -> Settings:
    # The counts live under the session's Redis prefix, which `clean` empties before each test.
    return settings.replace(
        write_rate_limit_per_minute=per_key, unauthenticated_rate_limit_per_minute=per_address
    )


async def test_a_429_for_one_key_does_not_stop_another(
    settings: Settings, clean: None, factory: Factory
) -> None:
    first, second = await factory.hospital("3274011"), await factory.hospital("3274012")
    first_key, second_key = (
        await factory.key(hospital_code=first),
        await factory.key(hospital_code=second),
    )
    async with AsyncTestClient(app=create_app(limited(settings, per_key=3))) as client:
        stop_rate_limit_clock(client.app)
        url = f"/api/v1/hospitals/{first}/occupancy"
        statuses = [
            (await client.post(url, json={}, headers=bearer(first_key))).status_code
            for _ in range(3)
        ]
        refused = await client.post(url, json={}, headers=bearer(first_key))
        other = await client.post(
            f"/api/v1/hospitals/{second}/occupancy", json={}, headers=bearer(second_key)
        )
        reads = [(await client.get("/api/v1/availability")).status_code for _ in range(5)]

    assert statuses == [422, 422, 422]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "credential" in refused.json()["detail"]
    assert other.status_code == 422  # its own bucket, untouched by the first key's flood
    assert reads == [200] * 5


async def test_counts_are_shared_between_workers(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    shared = limited(settings, per_key=3)
    url = f"/api/v1/hospitals/{code}/occupancy"
    async with (
        AsyncTestClient(app=create_app(shared)) as one,
        AsyncTestClient(app=create_app(shared)) as two,
    ):
        clock = stop_rate_limit_clock(one.app)
        stop_rate_limit_clock(two.app, clock)
        statuses = [
            (await worker.post(url, json={}, headers=bearer(key))).status_code
            for worker in (one, two, one, two)
        ]
    assert statuses == [422, 422, 422, 429]


async def test_unauthenticated_requests_are_limited_per_address(
    settings: Settings, clean: None
) -> None:
    async with AsyncTestClient(app=create_app(limited(settings, per_address=2))) as client:
        stop_rate_limit_clock(client.app)
        statuses = [(await client.get("/api/v1/monitor/summary")).status_code for _ in range(3)]
        refused = await client.get("/api/v1/monitor/summary")
        reads = [(await client.get("/api/v1/bed-classes")).status_code for _ in range(4)]

    assert statuses == [401, 401, 429]
    assert refused.headers["retry-after"].isdigit()
    assert "address" in refused.json()["detail"]
    assert reads == [200] * 4


async def test_inventing_keys_does_not_escape_the_address_limit(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    url = f"/api/v1/hospitals/{code}/occupancy"
    async with AsyncTestClient(app=create_app(limited(settings, per_address=3))) as client:
        stop_rate_limit_clock(client.app)
        statuses = [
            (await client.post(url, json={}, headers=bearer(f"bsk_{i}"))).status_code
            for i in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


async def test_limits_hold_per_process_while_redis_is_down(
    settings: Settings, clean: None, factory: Factory, redis_process: RedisProcess
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    app = create_app(limited(settings, per_key=3).replace(redis_url=redis_process.url))
    url = f"/api/v1/hospitals/{code}/occupancy"
    async with AsyncTestClient(app=app) as client:
        stop_rate_limit_clock(client.app)
        redis_process.stop()
        statuses = [
            (await client.post(url, json={}, headers=bearer(key))).status_code for _ in range(4)
        ]
    assert statuses == [422, 422, 422, 429]


async def test_bridges_answer_429_in_their_own_envelope(settings: Settings, clean: None) -> None:
    headers = {"X-cons-id": "12345", "X-timestamp": "0", "X-signature": "x"}
    async with AsyncTestClient(app=create_app(limited(settings, per_key=1))) as client:
        stop_rate_limit_clock(client.app)
        await client.get("/aplicaresws/rest/ref/kelas", headers=headers)
        refused = await client.get("/aplicaresws/rest/ref/kelas", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["retry-after"].isdigit()
    assert refused.json()["metadata"]["code"] == 0


async def test_a_new_minute_starts_a_new_count(
    settings: Settings, clean: None, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    url = f"/api/v1/hospitals/{code}/occupancy"
    async with AsyncTestClient(app=create_app(limited(settings, per_key=1))) as client:
        clock = stop_rate_limit_clock(client.app)
        first = await client.post(url, json={}, headers=bearer(key))
        refused = await client.post(url, json={}, headers=bearer(key))
        assert int(refused.headers["retry-after"]) == 59
        clock.advance(59)
        next_minute = await client.post(url, json={}, headers=bearer(key))
    assert (first.status_code, refused.status_code, next_minute.status_code) == (422, 429, 422)


@pytest.mark.parametrize("batch", [1, 8])
async def test_workers_exceed_a_limit_by_at_most_a_batch_each(
    settings: Settings, clean: None, batch: int
) -> None:
    """Three workers counting one credential's requests, taken in turn (the worst order for
    counts kept in each worker): together they let through the limit, and at most a batch
    less one more per worker; with batches of one, exactly the limit."""
    client = aioredis.Redis.from_url(settings.redis.redis_url)
    clock = StoppedClock()
    workers = [
        RateCounter(client, settings.redis.redis_prefix, clock=clock, batch=batch) for _ in range(3)
    ]
    limit = 100
    try:
        passed = 0
        for number in range(600):
            passed += await workers[number % 3].add("key:one", limit) <= limit
    finally:
        await client.aclose()
    assert limit <= passed <= limit + 3 * (batch - 1)
    if batch == 1:
        assert passed == limit


async def test_counts_reach_redis_in_batches(settings: Settings, clean: None) -> None:
    """A worker far from the limit counts in memory; a flush hands the counts to Redis, where
    every other worker reads them."""
    client = aioredis.Redis.from_url(settings.redis.redis_url)
    clock = StoppedClock()
    one = RateCounter(client, settings.redis.redis_prefix, clock=clock, batch=32)
    two = RateCounter(client, settings.redis.redis_prefix, clock=clock, batch=32)
    try:
        for _ in range(20):
            await one.add("key:one", 1000)
        window = int(clock() // 60)
        key = f"{settings.redis.redis_prefix}:ratelimit:key:one:{window}"
        assert await client.get(key) is None  # counted in the worker only
        await one.flush()
        assert int(await client.get(key)) == 20
        # Within a batch of the limit, the other worker counts in Redis, on the shared total.
        assert await two.add("key:one", 30) == 21
    finally:
        await client.aclose()


async def test_the_counts_of_a_minute_just_ended_still_reach_redis(
    settings: Settings, clean: None
) -> None:
    """A flush after the minute turned sends the last minute's counts too, to its own key;
    the new minute counts from zero."""
    client = aioredis.Redis.from_url(settings.redis.redis_url)
    clock = StoppedClock()
    counter = RateCounter(client, settings.redis.redis_prefix, clock=clock, batch=32)
    prefix = f"{settings.redis.redis_prefix}:ratelimit:key:one"
    try:
        for _ in range(5):
            await counter.add("key:one", 1000)
        ended = int(clock() // 60)
        clock.advance(60)
        assert await counter.add("key:one", 1000) == 1
        await counter.flush()
        assert int(await client.get(f"{prefix}:{ended}")) == 5
        assert int(await client.get(f"{prefix}:{ended + 1}")) == 1
    finally:
        await client.aclose()


async def slow_to_count(redis_url: str, delay: float) -> asyncio.Server:
    """A TCP relay to Redis that answers `delay` late on a connection whose last request
    added one to a count (`INCRBY key 1`), and at once otherwise."""
    target = urlsplit(redis_url)

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        redis_r, redis_w = await asyncio.open_connection(target.hostname, target.port or 6379)
        adding = False

        async def requests() -> None:
            nonlocal adding
            while data := await client_r.read(65536):
                adding = b"INCRBY" in data and b"\r\n$1\r\n1\r\n" in data
                redis_w.write(data)
                await redis_w.drain()
            redis_w.close()

        async def answers() -> None:
            while data := await redis_r.read(65536):
                if adding:
                    await asyncio.sleep(delay)
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        await asyncio.gather(requests(), answers())

    return await asyncio.start_server(relay, "127.0.0.1", 0)


async def test_a_count_read_while_another_is_sent_is_counted_once(
    settings: Settings, clean: None
) -> None:
    """A refusal counted after its answer went out, and the next request's look at the same
    count, both in flight at once, the look answered first: it sees one refusal, not two."""
    relay = await slow_to_count(str(settings.redis.redis_url), delay=0.3)
    port = relay.sockets[0].getsockname()[1]
    database = urlsplit(str(settings.redis.redis_url)).path or "/0"
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}{database}")
    counter = RateCounter(client, settings.redis.redis_prefix, clock=StoppedClock(), batch=32)
    try:
        # Two connections, ready: the refusal's count goes out first and is answered last.
        await asyncio.gather(client.ping(), client.ping())
        _, looked = await asyncio.gather(
            counter.add("failed-addr:192.0.2.1", 2), counter.peek("failed-addr:192.0.2.1", 2)
        )
        assert looked == 1
        assert await counter.peek("failed-addr:192.0.2.1", 2) == 1
    finally:
        await client.aclose()
        relay.close()
