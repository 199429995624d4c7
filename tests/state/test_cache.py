"""Redis is a cache: losing it loses nothing, and every worker converges on PostgreSQL's state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from bedsvc.access.actor import OPERATOR
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import apply_report, close_ward
from bedsvc.live.readside import change_feed
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.state.cache import Change, HospitalAt, Rebuilt, decode_entry
from bedsvc.store.db import connect_pool
from bedsvc.store.states import HospitalState
from tests.support import Factory, RedisProcess, bearer, report, wait_for_version, ward
from tests.support.waits import eventually

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
    await wait_for_version(client, code, version)  # the worker polls PostgreSQL meanwhile
    detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
    assert detail["wards"][0]["available"] == 7

    redis_process.start()  # an empty Redis, as after a restart without persistence
    cache = aioredis.Redis.from_url(redis_process.url)
    try:
        for _ in range(100):
            raw = await cache.hget(f"{settings.redis.redis_prefix}:hospitals", code)
            if raw is not None:
                break
            await asyncio.sleep(0.05)
        assert raw is not None, "cache was not rebuilt after Redis came back"
        assert msgspec.json.decode(raw)["wards"][0]["available"] == 7
        assert (
            int(await cache.hget(f"{settings.redis.redis_prefix}:hospital_versions", code))
            == version
        )
        assert int(await cache.get(f"{settings.redis.redis_prefix}:version")) == version
    finally:
        await cache.aclose()


async def test_change_committed_without_cache_write_reaches_readers(
    client_with_loops: Client, services: Services
) -> None:
    """A hospital registered from the CLI (no Redis write) shows up once the reconciler runs."""
    client = client_with_loops
    saved = await save_hospital(
        services.pool,
        services.queries,
        None,
        HospitalIn(code="3274099", name="RS Baru", region_code="3274"),
        OPERATOR,
    )

    await wait_for_version(client, "3274099", saved.version)

    codes = [h["code"] for h in (await client.get("/api/v1/availability")).json()["hospitals"]]
    assert codes == ["3274099"]


async def test_an_entry_that_does_not_add_up_makes_the_worker_reload(
    client: Client, factory: Factory, services: Services
) -> None:
    code = await factory.hospital()
    await wait_for_version(client, code, 1)
    state = await services.cache.hospital(code)
    assert state is not None
    # An entry whose global version skips one, as if an entry were lost on the way (trimmed
    # from the stream before this worker read it), or forged.
    forged = msgspec.structs.replace(state, name="not from the database", version=3)
    await services.redis.xadd(
        services.cache.stream_key,
        {"p": 3, "c": code, "v": 3, "s": msgspec.json.encode(forged)},
    )
    await factory.hospital("3274012")  # a real change after it

    await wait_for_version(client, "3274012", 1)
    body = (await client.get("/api/v1/availability")).json()
    assert body["version"] == 2
    assert {h["code"]: h["name"] for h in body["hospitals"]} == {
        code: f"RS {code}",
        "3274012": "RS 3274012",
    }


def hospital_state(version: int) -> HospitalState:
    return HospitalState(
        code="3274011",
        name="RS A",
        kind="RSUD",
        region_code="3274",
        address="",
        phone="",
        lat=None,
        lon=None,
        version=version,
        wards=[],
    )


async def test_the_feed_checks_every_step_of_the_stream(services: Services) -> None:
    """Applied when the global version grows by what the hospital's grew by; otherwise the
    feed reloads from the cache."""
    cache, feed = services.cache, services.feed
    state = hospital_state(1)
    await cache.rebuild({"3274011": 1}, [state])
    await feed.reload()
    assert (feed.version, feed.hospitals["3274011"].name) == (1, "RS A")

    newer = msgspec.structs.replace(state, name="RS B", version=2)
    assert await feed.handle(Change(position=2, code="3274011", version=2, state=newer))
    assert (feed.version, feed.hospitals["3274011"].name) == (2, "RS B")

    # The cache moves on to version 4 through entries this feed misses; the entry it reads
    # next does not add up.
    skipped = msgspec.structs.replace(state, name="RS D", version=4)
    await cache.write_hospitals([HospitalAt("3274011", 4, skipped)])
    assert not await feed.handle(Change(position=5, code="3274011", version=4, state=skipped))
    # Reloaded from the cache.
    assert (feed.version, feed.hospitals["3274011"].name) == (4, "RS D")


async def test_writes_arriving_out_of_order_keep_the_newest_state(services: Services) -> None:
    """Two workers commit versions 2 and 3 of one hospital; 3's write-through lands first."""
    cache = services.cache
    await cache.rebuild({"3274011": 1}, [])
    base = hospital_state(2)

    newer = msgspec.structs.replace(base, name="newer", version=3)
    assert await cache.write_hospitals([HospitalAt("3274011", 3, newer)]) == [3]
    older = msgspec.structs.replace(base, name="older", version=2)
    # Nothing, not even an entry.
    assert await cache.write_hospitals([HospitalAt("3274011", 2, older)]) == [0]

    snapshot = await cache.snapshot()
    assert snapshot.position == 3
    assert [h.name for h in snapshot.states] == ["newer"]
    entries = await services.redis.xrange(cache.stream_key)
    assert [decode_entry(fields) for _, fields in entries] == [
        Rebuilt(position=1),
        Change(position=3, code="3274011", version=3, state=newer),
    ]


async def test_an_empty_cache_takes_no_write_until_rebuilt(services: Services) -> None:
    state = hospital_state(5)
    # One hospital alone in an empty cache would pass for the whole region.
    assert await services.cache.write_hospitals([HospitalAt("3274011", 5, state)]) == [-1]
    assert (await services.cache.snapshot()).position is None


async def test_the_state_written_through_is_the_state_rebuilt_from_postgresql(
    services: Services, factory: Factory
) -> None:
    """With every field a ward has (beds by sex, waiting, a ward without them, a closed ward):
    the document a report writes through is, byte for byte, the one a rebuild writes."""
    code = await factory.hospital()
    pool, queries, sync = services.pool, services.queries, services.sync
    await sync.rebuild()  # no app runs here to fill the cache
    now = datetime.now(UTC)

    async def push(minutes_ago: int, *wards: dict[str, object]) -> None:
        at = now - timedelta(minutes=minutes_ago)
        body = msgspec.convert(report(*wards, at=at), OccupancyReport)
        await apply_report(pool, queries, sync, code, body, max_open_wards=50)

    await push(
        10,
        ward("MAWAR", available=3, available_male=1, available_female=2, waiting=4),
        ward("MELATI", "KL2", 10, 5, available_male=2, available_female=3, waiting=0),
        ward("ANGGREK", "VIP", 4, 4),
    )
    await close_ward(pool, queries, sync, code, "MELATI")
    # MELATI's report is older than its closing: it stays closed.
    await push(
        5,
        ward("MAWAR", available=0, available_male=0, available_female=0, waiting=7),
        ward("ICU", "ICU", 6, 1, available_male=1, available_female=0, waiting=2),
        ward("MELATI", "KL2", 10, 1),
    )
    cache = services.cache
    written = await services.redis.hget(cache.docs_key, code)
    [(_, entry)] = await services.redis.xrevrange(cache.stream_key, count=1)

    await sync.rebuild()
    rebuilt = await services.redis.hget(cache.docs_key, code)

    assert written == entry[b"s"] == rebuilt
    wards = msgspec.json.decode(rebuilt)["wards"]
    assert [w["ward_code"] for w in wards] == ["ANGGREK", "MAWAR", "ICU"]
    assert [w["waiting"] for w in wards] == [None, 7, 2]


async def test_one_write_through_for_several_hospitals_is_each_one_in_turn(
    services: Services,
) -> None:
    """A batch of reports hands its states over in one call: each advances the cache and gets
    its stream entry as a write of its own would, one the cache has already gets neither."""
    cache = services.cache
    await cache.rebuild({"3274011": 1, "3274012": 4}, [])
    first = hospital_state(2)
    second = msgspec.structs.replace(hospital_state(3), code="3274013")
    behind = msgspec.structs.replace(hospital_state(3), code="3274012")

    positions = await cache.write_hospitals(
        [
            HospitalAt("3274011", 2, first),
            HospitalAt("3274012", 3, behind),
            HospitalAt("3274013", 3, second),
            HospitalAt("3274011", 3, None),
        ]
    )

    assert positions == [6, 0, 9, 10]
    snapshot = await cache.snapshot()
    assert snapshot.versions == {"3274011": 3, "3274012": 4, "3274013": 3}
    assert snapshot.states == [second]
    entries = await services.redis.xrange(cache.stream_key)
    assert [decode_entry(fields) for _, fields in entries][1:] == [
        Change(position=6, code="3274011", version=2, state=first),
        Change(position=9, code="3274013", version=3, state=second),
        Change(position=10, code="3274011", version=3, state=None),
    ]


class _Heard:
    """When a feed's listener heard of each hospital (by the loop's clock), and a way to wait
    for what it hears."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._news = asyncio.Event()

    def hospital_changed(self, version: int, code: str, state: HospitalState | None) -> None:
        self.at[code] = asyncio.get_running_loop().time()
        self._news.set()

    def reloaded(self, version: int) -> None:
        self._news.set()

    async def until(self, done: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self._news.clear()
                    await self._news.wait()
        except TimeoutError:
            raise AssertionError(f"not within {timeout} s: {what}") from None


async def test_the_feed_reads_changes_that_come_together_at_once(
    services: Services, settings: Settings
) -> None:
    """A change on a quiet stream is seen at once; the changes written while the feed waits
    out its read gap are seen together, in one read, when the gap is over."""
    gap = 1.0
    cache = services.cache
    await cache.rebuild({"3274011": 1}, [hospital_state(1)])
    feed = change_feed(
        settings.replace(change_read_gap_ms=int(gap * 1000)),
        services.pool,
        services.queries,
        services.redis,
    )
    heard = _Heard()
    feed.add_listener(heard)
    await feed.start()
    loop = asyncio.get_running_loop()
    try:
        written = loop.time()
        await cache.write_hospitals([HospitalAt("3274011", 2, hospital_state(2))])
        await heard.until(lambda: "3274011" in heard.at, "the first change", timeout=gap)
        first = heard.at["3274011"]
        assert first - written < gap
        others = [f"32740{n}" for n in range(12, 16)]
        for code in others:
            state = msgspec.structs.replace(hospital_state(1), code=code)
            await cache.write_hospitals([HospitalAt(code, 1, state)])
        await heard.until(lambda: all(code in heard.at for code in others), "the others")
        times = [heard.at[code] for code in others]
        assert min(times) - first >= gap * 0.9
        assert max(times) - min(times) < 0.01, "read one by one"
        assert feed.version == 6
    finally:
        await feed.stop()


async def test_a_reload_that_postgresql_refuses_does_not_end_the_feed(
    services: Services, settings: Settings, factory: Factory
) -> None:
    """The cache is emptied and the stream says it was rebuilt, so the feed must reload from
    PostgreSQL, whose pool refuses (closed, as while shutting down): the feed tries again
    until it can, and then holds PostgreSQL's state."""
    code = await factory.hospital(name="RS Menurut PostgreSQL")
    cache = services.cache
    await cache.rebuild({code: 1}, [hospital_state(1)])
    refusing = await connect_pool(settings.database.database_url, 1, 1)
    await refusing.close()
    feed = change_feed(settings, refusing, services.queries, services.redis)
    heard = _Heard()
    feed.add_listener(heard)
    await feed.start()
    try:
        assert feed.hospitals[code].name == "RS A"
        refused_before = await _failed_reloads()
        await services.redis.delete(cache.version_key)
        await services.redis.xadd(cache.stream_key, {"p": 99, "r": 1})
        await eventually(
            _failed_reloads, lambda n: n >= refused_before + 2, "two reloads refused", 10
        )
        feed.sync.pool = services.pool
        await heard.until(lambda: feed.hospitals[code].name != "RS A", "a reload", timeout=10)
        assert feed.hospitals[code].name == "RS Menurut PostgreSQL"
    finally:
        await feed.stop()


async def _failed_reloads() -> float:
    return (
        REGISTRY.get_sample_value("bedsvc_database_errors_total", {"operation": "feed_reload"})
        or 0.0
    )
