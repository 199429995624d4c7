"""Redis is a cache: losing it loses nothing, and every worker converges on PostgreSQL's state."""

from __future__ import annotations

import asyncio

import msgspec
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.availability import HospitalState
from bedsvc.cache import HospitalChanged
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.conftest import Factory, RedisProcess, bearer, report, wait_for_version, ward

Client = AsyncTestClient[Litestar]


async def test_push_succeeds_with_redis_down_and_cache_is_rebuilt_when_back(
    own_redis_client: Client, factory: Factory, redis_process: RedisProcess, settings: Settings
) -> None:
    client = own_redis_client
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    redis_process.stop()

    response = await client.post(
        f"/api/v1/hospitals/{code}/occupancy", json=report(ward(available=7)), headers=bearer(key)
    )

    assert response.status_code == 200, response.text
    version = response.json()["version"]
    await wait_for_version(client, version)  # the worker polls PostgreSQL meanwhile
    detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
    assert detail["wards"][0]["available"] == 7

    redis_process.start()  # an empty Redis, as after a restart without persistence
    cache = aioredis.Redis.from_url(redis_process.url)
    try:
        for _ in range(100):
            raw = await cache.hget(f"{settings.redis_prefix}:hospitals", code)
            if raw is not None:
                break
            await asyncio.sleep(0.05)
        assert raw is not None, "cache was not rebuilt after Redis came back"
        assert msgspec.json.decode(raw)["wards"][0]["available"] == 7
        assert int(await cache.get(f"{settings.redis_prefix}:version")) == version
    finally:
        await cache.aclose()


async def test_change_committed_without_cache_write_reaches_readers(
    client: Client, services: Services
) -> None:
    """A hospital registered from the CLI (no Redis write) shows up once the reconciler runs."""
    saved = await save_hospital(
        services.pool,
        services.queries,
        None,
        HospitalIn(code="3274099", name="RS Baru", region_code="3274"),
    )

    await wait_for_version(client, saved.version)

    codes = [h["code"] for h in (await client.get("/api/v1/availability")).json()["hospitals"]]
    assert codes == ["3274099"]


async def test_a_message_after_a_gap_is_not_applied_blindly(
    client: Client, factory: Factory, services: Services
) -> None:
    code = await factory.hospital()
    await wait_for_version(client, 1)
    state = await services.cache.hospital(code)
    assert state is not None
    # A change message that skips version 2, as if one were lost on the way (or forged).
    bogus = HospitalChanged(
        version=3, hospital=msgspec.structs.replace(state, name="not from the database", version=3)
    )
    await services.redis.publish(services.cache.channel, msgspec.json.encode(bogus))
    await asyncio.sleep(0.5)  # past the gap wait: the worker reloads from the store

    await factory.hospital("3274012")  # the real version 2
    await wait_for_version(client, 2)

    body = (await client.get("/api/v1/availability")).json()
    assert body["version"] == 2
    assert {h["code"]: h["name"] for h in body["hospitals"]} == {
        code: f"RS {code}",
        "3274012": "RS 3274012",
    }


async def test_writes_arriving_out_of_order_keep_the_newest_state_and_a_gapless_version(
    services: Services,
) -> None:
    """Two workers commit versions 2 and 3 for one hospital; 3's write-through lands first."""
    cache = services.cache
    await cache.rebuild(1, [])
    base = HospitalState(
        code="3274011",
        name="RS A",
        kind="RSUD",
        region_code="3274",
        address="",
        phone="",
        lat=None,
        lon=None,
        version=2,
        wards=[],
    )

    await cache.write_hospital(msgspec.structs.replace(base, name="newer", version=3))
    assert await cache.version() == 1  # 2 not seen yet: the cache may not claim 3
    await cache.write_hospital(msgspec.structs.replace(base, name="older", version=2))

    assert await cache.version() == 3
    assert [h.name for h in await cache.hospitals()] == ["newer"]
