"""The hospital push API: ordering, idempotence, atomicity, validation and keys."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from bedsvc.errors import NotFound
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import Written, apply_report
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.store.states import load_state
from tests.support import (
    Factory,
    bearer,
    push_until_refused,
    report,
    wait_for_version,
    waiting_on_a_lock,
    ward,
)

Client = AsyncTestClient[Litestar]
URL = "/api/v1/hospitals/{}/occupancy"


async def db_rows(settings: Settings, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def test_push_is_committed_and_visible(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    body = report(ward("MAWAR", available=3, available_male=1, available_female=2, waiting=4))

    response = await client.post(URL.format(code), json=body, headers=bearer(key))

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["applied"] == ["MAWAR"]
    assert result["stale"] == []
    rows = await db_rows(settings, "SELECT available, waiting FROM wards")
    assert [(r["available"], r["waiting"]) for r in rows] == [(3, 4)]
    [hospital_row] = await db_rows(settings, "SELECT version FROM hospitals")
    assert hospital_row["version"] == result["version"]
    history = await db_rows(
        settings, "SELECT ward_code, change, key_id, version FROM occupancy_history"
    )
    assert [(h["ward_code"], h["change"], h["version"]) for h in history] == [
        ("MAWAR", "report", result["version"])
    ]
    assert history[0]["key_id"].startswith("key_")

    await wait_for_version(client, code, result["version"])
    public = (await client.get("/api/v1/availability")).json()
    # The global version is the sum of every hospital's: here the one hospital's.
    assert public["version"] == result["version"]
    [hospital] = public["hospitals"]
    assert hospital["classes"][0] | {"updated_at": None} == {
        "bed_class": "KL3",
        "capacity": 20,
        "available": 3,
        "available_male": 1,
        "available_female": 2,
        "waiting": 4,
        "updated_at": None,
        "stale": False,
    }


async def test_older_or_equal_report_is_stale_and_changes_nothing(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    now = datetime.now(UTC).replace(microsecond=0)
    newer = report(ward(available=5), at=now)
    older = report(ward(available=9), at=now - timedelta(minutes=5))

    first = (await client.post(URL.format(code), json=newer, headers=bearer(key))).json()
    again = (await client.post(URL.format(code), json=newer, headers=bearer(key))).json()
    late = (await client.post(URL.format(code), json=older, headers=bearer(key))).json()

    assert first["applied"] == ["MAWAR"]
    assert again == {"version": first["version"], "applied": [], "stale": ["MAWAR"]}
    assert late == {"version": first["version"], "applied": [], "stale": ["MAWAR"]}
    rows = await db_rows(settings, "SELECT available FROM wards")
    assert [r["available"] for r in rows] == [5]
    history = await db_rows(settings, "SELECT 1 FROM occupancy_history")
    assert len(history) == 1
    await wait_for_version(client, code, first["version"])
    detail = (await client.get(f"/api/v1/hospitals/{code}")).json()
    assert detail["wards"][0]["available"] == 5


async def test_report_mixes_applied_and_stale_wards(client: Client, factory: Factory) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    now = datetime.now(UTC)
    await client.post(
        URL.format(code), json=report(ward("ICU", "ICU", 6, 1), at=now), headers=bearer(key)
    )

    mixed = report(ward("ICU", "ICU", 6, 2), ward("MAWAR"), at=now - timedelta(seconds=30))
    result = (await client.post(URL.format(code), json=mixed, headers=bearer(key))).json()

    assert result["applied"] == ["MAWAR"]
    assert result["stale"] == ["ICU"]


async def test_versions_grow_without_gaps_under_concurrent_pushes(
    client: Client, factory: Factory
) -> None:
    codes = [await factory.hospital(f"32740{i:02d}") for i in range(5)]
    keys = {code: await factory.key(hospital_code=code) for code in codes}
    start = (await client.get("/api/v1/availability")).json()["version"]
    before = {c: (await client.get(f"/api/v1/hospitals/{c}")).json()["version"] for c in codes}

    pushes = [(code, n) for n in range(4) for code in codes]
    responses = await asyncio.gather(
        *(
            client.post(URL.format(code), json=report(ward(f"W{n}")), headers=bearer(keys[code]))
            for code, n in pushes
        )
    )

    # Each hospital's reports took its next versions, one each; together they moved the
    # global version by exactly their number.
    for code in codes:
        answers = zip(pushes, responses, strict=True)
        versions = sorted(r.json()["version"] for (c, _), r in answers if c == code)
        assert versions == list(range(before[code] + 1, before[code] + 5))
        await wait_for_version(client, code, before[code] + 4)
    public = (await client.get("/api/v1/availability")).json()
    assert public["version"] == start + len(pushes)


async def test_invalid_report_is_rejected_whole(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    body = report(ward("MAWAR"), ward("MELATI", capacity=4, available=7))

    response = await client.post(URL.format(code), json=body, headers=bearer(key))

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == [
        {"field": "wards[1].available", "reason": "must not exceed capacity (4)"}
    ]
    assert await db_rows(settings, "SELECT 1 FROM wards") == []
    assert await db_rows(settings, "SELECT 1 FROM occupancy_history") == []


async def test_each_rule_names_its_field(client: Client, factory: Factory) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    cases = {
        "wards[0].available_male": report(ward(available=2, available_male=2, available_female=1)),
        "wards[0].bed_class": report(ward(bed_class="KELAS9")),
        "reported_at": report(ward(), at=datetime.now(UTC) + timedelta(minutes=10)),
        "wards[1].ward_code": report(ward("A"), ward("A")),
        "wards[0].capacity": report(ward(capacity=-1, available=0)),
        "wards": {"reported_at": datetime.now(UTC).isoformat(), "wards": []},
    }
    for field, body in cases.items():
        response = await client.post(URL.format(code), json=body, headers=bearer(key))
        assert response.status_code == 422, (field, response.text)
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f.endswith(field) for f in fields), (field, fields)


async def test_too_many_wards_is_422(client: Client, factory: Factory, settings: Settings) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    body = report(*(ward(f"W{i}") for i in range(settings.ingest.max_wards_per_report + 1)))

    response = await client.post(URL.format(code), json=body, headers=bearer(key))

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "wards"


async def test_malformed_json_is_a_problem_not_a_500(client: Client, factory: Factory) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    response = await client.post(
        URL.format(code),
        content=b"{not json",
        headers=bearer(key) | {"content-type": "application/json"},
    )
    # Malformed syntax is 400; a body that parses but breaks a rule is 422.
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_keys_are_scoped(client: Client, factory: Factory, settings: Settings) -> None:
    mine = await factory.hospital("3274011")
    other = await factory.hospital("3274012")
    my_key = await factory.key(hospital_code=mine)
    monitor_key = await factory.key("monitor")
    body = report(ward())

    assert (await client.post(URL.format(mine), json=body)).status_code == 401
    assert (
        await client.post(URL.format(mine), json=body, headers=bearer("bsk_wrong"))
    ).status_code == 401
    assert (
        await client.post(URL.format(other), json=body, headers=bearer(my_key))
    ).status_code == 403
    assert (
        await client.post(URL.format(mine), json=body, headers=bearer(monitor_key))
    ).status_code == 403
    assert (
        await client.post(URL.format("9999999"), json=body, headers=bearer(my_key))
    ).status_code == 404
    # PostgreSQL is the record: nothing refused was written, whatever the cache shows later.
    assert await db_rows(settings, "SELECT 1 FROM wards") == []
    assert await db_rows(settings, "SELECT 1 FROM occupancy_history") == []


async def test_unauthenticated_caller_gets_401_before_validation(
    client: Client, factory: Factory
) -> None:
    code = await factory.hospital()
    response = await client.post(URL.format(code), json={"nonsense": True})
    assert response.status_code == 401


async def test_revoked_key_is_refused(client: Client, factory: Factory, settings: Settings) -> None:
    code = await factory.hospital()
    admin = await factory.key("admin")
    issued = (
        await client.post(
            "/api/v1/admin/keys",
            json={"role": "hospital", "hospital_code": code},
            headers=bearer(admin),
        )
    ).json()
    ok = await client.post(URL.format(code), json=report(ward()), headers=bearer(issued["key"]))
    assert ok.status_code == 200

    revoked = await client.delete(f"/api/v1/admin/keys/{issued['key_id']}", headers=bearer(admin))
    assert revoked.status_code == 200
    refused = await push_until_refused(
        client, code, issued["key"], within=settings.access.key_cache_seconds + 0.5
    )
    assert refused.status_code == 403


async def test_closing_a_ward_removes_it_until_a_newer_report(
    client: Client, factory: Factory
) -> None:
    code = await factory.hospital()
    key = await factory.key(hospital_code=code)
    await client.post(
        URL.format(code), json=report(ward("MAWAR"), ward("ICU", "ICU", 4, 1)), headers=bearer(key)
    )

    closed = await client.delete(f"/api/v1/hospitals/{code}/wards/MAWAR", headers=bearer(key))
    assert closed.status_code == 200
    await wait_for_version(client, code, closed.json()["version"])
    wards = (await client.get(f"/api/v1/hospitals/{code}")).json()["wards"]
    assert [w["ward_code"] for w in wards] == ["ICU"]

    old = await client.post(
        URL.format(code), json=report(ward("MAWAR"), minutes_ago=5), headers=bearer(key)
    )
    assert old.json()["stale"] == ["MAWAR"]
    new = await client.post(
        URL.format(code), json=report(ward("MAWAR"), minutes_ago=-0.1), headers=bearer(key)
    )
    assert new.json()["applied"] == ["MAWAR"]
    again = await client.delete(f"/api/v1/hospitals/{code}/wards/NOPE", headers=bearer(key))
    assert again.status_code == 404


async def test_service_refuses_a_report_for_an_unknown_hospital(
    services: Services, settings: Settings
) -> None:
    body = msgspec.convert(report(ward()), OccupancyReport)
    with pytest.raises(NotFound):
        await apply_report(
            services.pool, services.queries, services.sync, "0000000", body, None, max_open_wards=9
        )
    assert await db_rows(settings, "SELECT 1 FROM occupancy_history") == []


async def test_reports_of_other_hospitals_do_not_wait_for_a_locked_one(
    services: Services, factory: Factory, settings: Settings
) -> None:
    busy, free = await factory.hospital("3274011"), await factory.hospital("3274012")

    def push(code: str) -> Awaitable[Written]:
        body = msgspec.convert(report(ward()), OccupancyReport)
        return apply_report(
            services.pool, services.queries, services.sync, code, body, None, max_open_wards=9
        )

    holder = await asyncpg.connect(settings.database.database_url)
    try:
        # A report of `busy` in progress holds its hospital's row until it commits.
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM hospitals WHERE code = $1 FOR UPDATE", busy)
        waiting = asyncio.ensure_future(push(busy))
        async with services.pool.acquire() as watcher:
            await waiting_on_a_lock(watcher)
        other = await asyncio.wait_for(push(free), 2)
        assert other.result.applied == ["MAWAR"]
        assert not waiting.done()  # reports of one hospital stay in order
        await transaction.rollback()
        assert (await asyncio.wait_for(waiting, 2)).result.applied == ["MAWAR"]
    finally:
        await holder.close()


async def test_the_cache_holds_the_state_postgresql_has_after_concurrent_reports(
    services: Services, factory: Factory
) -> None:
    """Reports of one hospital touching different wards at once: whichever state each write
    hands to the cache (built by its statement, or read again after another report came in
    between), the cache ends with PostgreSQL's."""
    code = await factory.hospital()
    await services.sync.rebuild()  # no app runs here to fill the cache
    now = datetime.now(UTC)

    def push(wards: list[dict[str, object]], seconds: float) -> Awaitable[Written]:
        body = msgspec.convert(report(*wards, at=now - timedelta(seconds=seconds)), OccupancyReport)
        return apply_report(
            services.pool, services.queries, services.sync, code, body, None, max_open_wards=50
        )

    await push([ward(f"W{n}", available=1) for n in range(8)], 60)
    nameless = {"ward_code": "W0", "bed_class": "ICU", "capacity": 9, "available": 9}
    await push([nameless], 55)
    await asyncio.gather(
        *(push([ward(f"W{n}", available=n + r)], 50 - r) for r in range(5) for n in range(1, 8))
    )

    async with services.pool.acquire() as conn:
        _, expected = await load_state(conn, services.queries, code)
    assert expected is not None
    assert await services.cache.hospital(code) == expected
    assert {w.ward_code: w.available for w in expected.wards}["W3"] == 3 + 4
    assert [(w.name, w.bed_class) for w in expected.wards if w.ward_code == "W0"] == [
        ("Ruang W0", "ICU")  # a report without a name keeps the ward's
    ]
