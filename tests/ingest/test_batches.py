"""Pushes that arrive together: their reports written with one statement, their keys checked
with one query. Each push is answered as it would be alone, and no hospital holds up another's
report."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import msgspec
import pytest

from bedsvc.access.keys import HospitalAccess, KeyCache
from bedsvc.errors import Forbidden, InvalidInput, NotAuthenticated, NotFound
from bedsvc.ingest.batches import ReportWriter
from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import Written, apply_report, close_ward
from bedsvc.ops.metrics import REPORT_BATCH_SIZE
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.store import Queries
from bedsvc.store.states import load_state
from tests.support import Factory, report, waiting_on_a_lock, ward

CODES = [f"32740{n:02d}" for n in range(11, 19)]


def writer(services: Services, *, max_batch: int = 64, max_open_wards: int = 50) -> ReportWriter:
    return ReportWriter(
        services.pool,
        services.queries,
        services.sync,
        max_open_wards=max_open_wards,
        max_batch=max_batch,
        concurrency=1,
    )


def body(*wards: dict[str, Any], at: datetime | None = None) -> OccupancyReport:
    return msgspec.convert(report(*wards, at=at), OccupancyReport)


def batches() -> tuple[float, float]:
    """How many batches this process wrote, and how many reports they held."""
    count = total = 0.0
    for metric in REPORT_BATCH_SIZE.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
    return count, total


async def history(services: Services, code: str) -> list[tuple[int, str, int, str | None]]:
    async with services.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT version, ward_code, available, key_id FROM occupancy_history"
            " WHERE hospital_code = $1 ORDER BY version, ward_code",
            code,
        )
    return [(r["version"], r["ward_code"], r["available"], r["key_id"]) for r in rows]


async def test_reports_that_arrive_together_share_a_statement(
    services: Services, factory: Factory
) -> None:
    for code in CODES:
        await factory.hospital(code)
    await services.sync.rebuild()
    reports = writer(services)
    before = batches()

    written = await asyncio.gather(
        *(
            reports.write(code, body(ward("MAWAR", available=n), ward("ICU1", "ICU", 4, 1)))
            for n, code in enumerate(CODES)
        )
    )

    count, total = (now - then for now, then in zip(batches(), before, strict=True))
    # The first starts alone at once; the rest queued meanwhile and went together.
    assert total == len(CODES)
    assert count < len(CODES)
    for n, (code, answer) in enumerate(zip(CODES, written, strict=True)):
        assert answer.result.applied == ["MAWAR", "ICU1"]  # in the report's order
        assert answer.result.stale == []
        assert answer.result.version == 2  # registered at 1
        assert set(answer.id_t_tts) == {"MAWAR", "ICU1"}
        assert await history(services, code) == [(2, "ICU1", 1, None), (2, "MAWAR", n, None)]
        async with services.pool.acquire() as conn:
            version, state = await load_state(conn, services.queries, code)
        assert await services.cache.hospital(code) == state
        assert state is not None
        assert version == 2


async def test_each_push_of_a_batch_gets_its_own_answer(
    services: Services, factory: Factory
) -> None:
    """A refused or unknown hospital's report is answered to its push alone; the others in
    the same batch are written."""
    good, inactive, crowded = CODES[:3]
    for code in (good, crowded):
        await factory.hospital(code)
    await factory.hospital(inactive, active=False)
    reports = writer(services, max_open_wards=2)
    old = datetime.now(UTC) - timedelta(hours=1)
    await reports.write(good, body(ward("MAWAR", available=5), at=old + timedelta(minutes=1)))

    answers = await asyncio.gather(
        reports.write(good, body(ward("MAWAR", available=9), at=old)),  # older than stored
        reports.write(inactive, body(ward())),
        reports.write(crowded, body(ward("A"), ward("B"), ward("C"))),
        reports.write("3274099", body(ward())),
        return_exceptions=True,
    )

    stale, refused, too_many, unknown = answers
    assert isinstance(stale, Written)
    assert (stale.result.applied, stale.result.stale) == ([], ["MAWAR"])
    assert isinstance(refused, Forbidden)
    assert "inactive" in refused.detail
    assert isinstance(too_many, InvalidInput)
    assert too_many.errors[0].field == "wards"
    assert isinstance(unknown, NotFound)
    assert [row[2] for row in await history(services, good)] == [5]
    for code in (inactive, crowded):
        assert await history(services, code) == []


async def test_a_hospital_held_by_another_transaction_holds_up_no_one_else(
    services: Services, factory: Factory, settings: Settings
) -> None:
    busy, *others = CODES[:4]
    for code in CODES[:4]:
        await factory.hospital(code)
    reports = writer(services)
    holder = await asyncpg.connect(settings.database.database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT 1 FROM hospitals WHERE code = $1 FOR UPDATE", busy)
        waiting = asyncio.ensure_future(reports.write(busy, body(ward(available=1))))
        # The busy hospital in the same batch as the others: they are written all the same.
        written = await asyncio.wait_for(
            asyncio.gather(*(reports.write(code, body(ward(available=2))) for code in others)),
            5,
        )
        assert [w.result.applied for w in written] == [["MAWAR"]] * len(others)
        async with services.pool.acquire() as watcher:
            await waiting_on_a_lock(watcher)
        assert not waiting.done()
        # The busy hospital's next report waits behind its first, not beside it.
        later = asyncio.ensure_future(reports.write(busy, body(ward(available=3))))
        # Queued after it (tasks start in order): once this one is written, a batch has
        # passed the busy hospital's report over.
        after = asyncio.ensure_future(reports.write(others[0], body(ward(available=4))))
        await asyncio.wait_for(after, 5)
        assert not later.done()
        await transaction.rollback()
        first, second = await asyncio.wait_for(asyncio.gather(waiting, later), 5)
    finally:
        await holder.close()
    assert (first.result.version, second.result.version) == (2, 3)
    assert [row[2] for row in await history(services, busy)] == [1, 3]


async def test_reports_of_one_hospital_are_written_in_the_order_they_came(
    services: Services, factory: Factory
) -> None:
    code = await factory.hospital()
    reports = writer(services)
    start = datetime.now(UTC) - timedelta(hours=1)

    written = await asyncio.gather(
        *(
            reports.write(code, body(ward(available=n), at=start + timedelta(seconds=n)))
            for n in range(6)
        )
    )

    assert [w.result.version for w in written] == [2, 3, 4, 5, 6, 7]
    assert [row[2] for row in await history(services, code)] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("writer_of_wards", ["report", "closing"])
async def test_every_writer_of_wards_takes_the_hospitals_row_first(
    services: Services, factory: Factory, settings: Settings, writer_of_wards: str
) -> None:
    """A batch locks its hospitals' rows, then their wards. A single report or a closing that
    took a ward first and the hospital after could each wait on the other for ever (until
    PostgreSQL picked a deadlock's victim): held up at a ward, they already hold the hospital."""
    code = await factory.hospital()

    def report_alone() -> Awaitable[Written]:
        return apply_report(
            services.pool,
            services.queries,
            services.sync,
            code,
            body(ward("W0")),
            None,
            max_open_wards=9,
        )

    await report_alone()
    holder = await asyncpg.connect(settings.database.database_url)
    prober = await asyncpg.connect(settings.database.database_url)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT 1 FROM wards WHERE hospital_code = $1 AND ward_code = 'W0' FOR UPDATE", code
        )
        if writer_of_wards == "report":
            held_up: Awaitable[object] = report_alone()
        else:
            held_up = close_ward(services.pool, services.queries, services.sync, code, "W0")
        waiting = asyncio.ensure_future(held_up)
        await waiting_on_a_lock(prober)
        with pytest.raises(asyncpg.LockNotAvailableError):
            await prober.execute(
                "SELECT 1 FROM hospitals WHERE code = $1 FOR NO KEY UPDATE NOWAIT", code
            )
        await transaction.rollback()
        await asyncio.wait_for(waiting, 5)
    finally:
        await holder.close()
        await prober.close()


@pytest.mark.parametrize("max_batch", [1, 2])
async def test_a_batch_holds_at_most_max_batch_reports(
    services: Services, factory: Factory, max_batch: int
) -> None:
    for code in CODES:
        await factory.hospital(code)
    reports = writer(services, max_batch=max_batch)
    before = batches()

    await asyncio.gather(*(reports.write(code, body(ward())) for code in CODES))

    count, total = (now - then for now, then in zip(batches(), before, strict=True))
    assert total == len(CODES)
    assert count >= len(CODES) / max_batch


async def test_keys_checked_at_the_same_moment_are_each_answered_as_their_own(
    services: Services, factory: Factory
) -> None:
    """Misses of the key cache that arrive together share one query; each push still gets
    what its own key and hospital call for."""
    for code in CODES[:4]:
        await factory.hospital(code)
    await factory.hospital(CODES[4], active=False)
    keys = {code: await factory.key(hospital_code=code) for code in CODES[:5]}
    cache = KeyCache(ttl=60)

    def check(token: str, code: str) -> Awaitable[HospitalAccess]:
        return cache.hospital_access(services.pool, services.queries, token, code)

    answers = await asyncio.gather(
        *(check(keys[code], code) for code in CODES[:4]),
        check(keys[CODES[0]], CODES[1]),  # another hospital's key
        check(keys[CODES[4]], CODES[4]),  # an inactive hospital
        check(keys[CODES[0]], "3274099"),  # no such hospital
        check("bsk_invented", CODES[0]),
        return_exceptions=True,
    )

    own, others = answers[:4], answers[4:]
    assert [a.key.hospital_code for a in own if isinstance(a, HospitalAccess)] == CODES[:4]
    for access in own:
        assert isinstance(access, HospitalAccess)
        access.require(access.key.hospital_code or "")
    foreign, inactive, unknown, invented = others
    assert isinstance(foreign, HospitalAccess)
    with pytest.raises(Forbidden):
        foreign.require(CODES[1])
    assert isinstance(inactive, HospitalAccess)
    assert not inactive.hospital_active
    assert isinstance(unknown, HospitalAccess)
    assert not unknown.hospital_exists
    assert isinstance(invented, NotAuthenticated)


async def test_a_ward_reported_without_a_name_keeps_its_own(
    services: Services, factory: Factory
) -> None:
    named, other = CODES[:2]
    for code in (named, other):
        await factory.hospital(code)
    reports = writer(services)
    start = datetime.now(UTC) - timedelta(hours=1)
    await reports.write(named, body(ward("MAWAR", name="Ruang Mawar"), at=start))
    nameless = {"ward_code": "MAWAR", "bed_class": "KL3", "capacity": 9, "available": 2}

    await asyncio.gather(
        reports.write(named, body(nameless, at=start + timedelta(minutes=1))),
        reports.write(
            other, body(nameless, {**nameless, "ward_code": "ANGGREK", "name": "Ruang Anggrek"})
        ),
    )

    async with services.pool.acquire() as conn:
        names = await conn.fetch(
            "SELECT hospital_code, ward_code, name, capacity FROM wards ORDER BY 1, 2"
        )
    assert [tuple(r) for r in names] == [
        (named, "MAWAR", "Ruang Mawar", 9),
        (other, "ANGGREK", "Ruang Anggrek", 9),
        (other, "MAWAR", "MAWAR", 9),  # a new ward without a name is named by its code
    ]


async def test_keys_missing_from_the_cache_together_are_asked_in_one_query(
    services: Services, factory: Factory
) -> None:
    """The misses that arrive before the query starts, or while it is under way, are asked
    together. The queries are PostgreSQL's own, only counted on the way."""
    for code in CODES:
        await factory.hospital(code)
    keys = {code: await factory.key(hospital_code=code) for code in CODES}
    asked: list[int] = []
    real = services.queries

    class Counted:
        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def find_hospital_keys(self, conn: object, **params: list[object]) -> object:
            asked.append(len(params["key_hashes"]))
            return real.find_hospital_keys(conn, **params)  # type: ignore[arg-type]

    cache = KeyCache(ttl=60)
    queries = cast(Queries, Counted())

    answers = await asyncio.gather(
        *(cache.hospital_access(services.pool, queries, keys[code], code) for code in CODES)
    )

    assert [a.key.hospital_code for a in answers] == CODES
    assert asked == [len(CODES)]
