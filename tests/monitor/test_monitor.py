"""The health office's API: summary with BOR, stale reporters, history and its CSV export."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bedsvc.access.keys import hash_token
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.region import Client, push, seed_region

MONITOR = "/api/v1/monitor"


async def monitor_get(client: Client, key: str, path: str, **params: Any) -> Any:
    response = await client.get(f"{MONITOR}/{path}", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def occupancy(capacity: int, occupied: int, available: int, bor: float | None) -> dict[str, Any]:
    return {"capacity": capacity, "occupied": occupied, "available": available, "bor": bor}


async def test_summary_per_class_hospital_and_region(client: Client, factory: Factory) -> None:
    await seed_region(client, factory)
    key = await factory.key("monitor")

    body = await monitor_get(client, key, "summary", region="3274")

    assert body["region"] == "3274"
    # KL3: 20+10+15 beds, 3+2+0 free; ICU: 6+4, 1+0; IGD: 8, 5.
    assert body["classes"] == [
        {"bed_class": "KL3", **occupancy(45, 40, 5, 0.8889)},
        {"bed_class": "ICU", **occupancy(10, 9, 1, 0.9)},
        {"bed_class": "IGD", **occupancy(8, 3, 5, 0.375)},
    ]
    assert body["total"] == occupancy(63, 52, 11, 0.8254)
    hospitals = {h["code"]: h for h in body["hospitals"]}
    assert set(hospitals) == {"3274011", "3274022", "3274033"}
    assert hospitals["3274011"]["total"] == occupancy(36, 30, 6, 0.8333)
    assert hospitals["3274011"]["classes"] == [
        {"bed_class": "KL3", **occupancy(30, 25, 5, 0.8333)},
        {"bed_class": "ICU", **occupancy(6, 5, 1, 0.8333)},
    ]
    assert hospitals["3274011"]["stale"] is False
    assert hospitals["3274022"]["total"] == occupancy(27, 22, 5, 0.8148)
    assert hospitals["3274022"]["stale"] is True  # reported two hours ago
    assert hospitals["3274033"]["total"] == occupancy(0, 0, 0, None)
    assert hospitals["3274033"]["updated_at"] is None


async def test_summary_of_every_region_and_closed_wards(client: Client, factory: Factory) -> None:
    keys = await seed_region(client, factory)
    key = await factory.key("monitor")
    closed = await client.delete(
        "/api/v1/hospitals/3274011/wards/MELATI", headers=bearer(keys["3274011"])
    )
    assert closed.status_code == 200

    body = await monitor_get(client, key, "summary")

    assert body["region"] is None
    classes = {c["bed_class"]: c for c in body["classes"]}
    # MELATI (10 beds, 2 free) left; KENANGA of the other region counts.
    assert classes["KL3"] == {"bed_class": "KL3", **occupancy(35, 32, 3, 0.9143)}
    assert classes["KL1"] == {"bed_class": "KL1", **occupancy(10, 6, 4, 0.6)}
    assert body["total"] == occupancy(63, 50, 13, 0.7937)


async def test_monitor_routes_need_a_monitor_or_admin_key(
    client: Client, factory: Factory, settings: Settings
) -> None:
    code = await factory.hospital()
    hospital_key = await factory.key(hospital_code=code)
    monitor_key = await factory.key("monitor")
    admin_key = await factory.key("admin")
    revoked = await factory.key("monitor")
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1", hash_token(revoked)
        )
    finally:
        await conn.close()
    paths = [
        "summary",
        "stale",
        "history",
        "export.csv",
        "alerts",
        "export/edxl-have.xml",
        "export/fhir-measurereport.json",
    ]

    for path in paths:
        url = f"{MONITOR}/{path}"
        assert (await client.get(url)).status_code == 401, path
        assert (await client.get(url, headers=bearer("bsk_unknown"))).status_code == 401, path
        assert (await client.get(url, headers=bearer(hospital_key))).status_code == 403, path
        assert (await client.get(url, headers=bearer(revoked))).status_code == 403, path
        assert (await client.get(url, headers=bearer(admin_key))).status_code == 200, path
        assert (await client.get(url, headers=bearer(monitor_key))).status_code == 200, path


async def test_stale_lists_silent_hospitals_and_wards(
    client: Client, factory: Factory, settings: Settings
) -> None:
    keys = await seed_region(client, factory)
    key = await factory.key("monitor")
    # MELATI alone reported 45 minutes ago the next time round: a stale ward of a fresh hospital.
    now = datetime.now(UTC)
    await push(
        client,
        keys["3274011"],
        "3274011",
        report(ward("MAWAR", "KL3", 20, 3), ward("ICU1", "ICU", 6, 1), at=now),
    )
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        await conn.execute(
            "UPDATE wards SET reported_at = now() - interval '45 minutes'"
            " WHERE ward_code = 'MELATI'"
        )
    finally:
        await conn.close()

    body = await monitor_get(client, key, "stale", older_than="30m", region="3274")

    assert body["older_than_seconds"] == 1800
    listed = [(h["code"], h["stale"]) for h in body["hospitals"]]
    # Oldest first: never reported, then two hours, then the fresh hospital with a stale ward.
    assert listed == [("3274033", True), ("3274022", True), ("3274011", False)]
    never, pelabuhan, kesambi = body["hospitals"]
    assert never["last_report_at"] is None
    assert never["age_seconds"] is None
    assert never["wards"] == []
    assert 7190 <= pelabuhan["age_seconds"] <= 7300
    assert [w["ward_code"] for w in pelabuhan["wards"]] == ["ANGGREK", "ICU2", "IGD"]
    assert [w["ward_code"] for w in kesambi["wards"]] == ["MELATI"]
    assert 2690 <= kesambi["wards"][0]["age_seconds"] <= 2800
    assert kesambi["age_seconds"] < 60

    longer = await monitor_get(client, key, "stale", older_than="3h")
    assert [h["code"] for h in longer["hospitals"]] == ["3274033"]
    bad = await client.get(f"{MONITOR}/stale", params={"older_than": "soon"}, headers=bearer(key))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "older_than"


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def seed_timeline(client: Client, factory: Factory) -> datetime:
    """Reports at known times; returns T0, the start of the range (six hourly buckets, the
    last one holding now).

    MAWAR  (KL3, 20 beds): T0+10m 5 free, T0+40m 6 free, T0+80m 2 free
    MELATI (KL3, 10 beds): T0-30m 4 free, T0+125m 1 free, closed now
    ICU2   (ICU, 4 beds, other hospital): T0+210m 0 free
    """
    t0 = hour_floor(datetime.now(UTC)) - timedelta(hours=5)
    await factory.hospital("3274011", "3274")
    await factory.hospital("3274022", "3274")
    k1 = await factory.key(hospital_code="3274011")
    k2 = await factory.key(hospital_code="3274022")
    minutes = timedelta(minutes=1)
    for at, wards in [
        (t0 - 30 * minutes, [ward("MELATI", "KL3", 10, 4)]),
        (t0 + 10 * minutes, [ward("MAWAR", "KL3", 20, 5)]),
        (t0 + 40 * minutes, [ward("MAWAR", "KL3", 20, 6)]),
        (t0 + 80 * minutes, [ward("MAWAR", "KL3", 20, 2)]),
        (t0 + 125 * minutes, [ward("MELATI", "KL3", 10, 1)]),
    ]:
        await push(client, k1, "3274011", report(*wards, at=at))
    await push(client, k2, "3274022", report(ward("ICU2", "ICU", 4, 0), at=t0 + 210 * minutes))
    closed = await client.delete("/api/v1/hospitals/3274011/wards/MELATI", headers=bearer(k1))
    assert closed.status_code == 200
    return t0


def points(series: dict[str, Any]) -> list[tuple[int, int, int, int]]:
    return [
        (hour, p["capacity"], p["occupied"], p["available"])
        for hour, p in enumerate(series["points"])
    ]


async def test_history_buckets_carry_values_forward(client: Client, factory: Factory) -> None:
    t0 = await seed_timeline(client, factory)
    key = await factory.key("monitor")
    window = {"from": t0.isoformat(), "to": (t0 + timedelta(hours=6)).isoformat(), "bucket": "1h"}

    body = await monitor_get(client, key, "history", **window)

    assert body["bucket_seconds"] == 3600
    by_series = {(s["hospital"], s["bed_class"]): s for s in body["series"]}
    assert set(by_series) == {("3274011", "KL3"), ("3274022", "ICU")}
    kesambi = by_series[("3274011", "KL3")]
    assert [datetime.fromisoformat(p["t"]) for p in kesambi["points"]] == [
        t0 + timedelta(hours=h) for h in range(6)
    ]
    # (hour, capacity, occupied, available): the last report in a bucket counts; a bucket
    # without one carries the value before it; MELATI carries in from before the range and
    # leaves in the last hour, when it was closed.
    assert points(kesambi) == [
        (0, 30, 20, 10),
        (1, 30, 24, 6),
        (2, 30, 27, 3),
        (3, 30, 27, 3),
        (4, 30, 27, 3),
        (5, 20, 18, 2),
    ]
    assert kesambi["points"][0]["bor"] == pytest.approx(0.6667)
    # The ICU first reported in hour 3: nothing before, then carried forward.
    icu = by_series[("3274022", "ICU")]
    assert [p["t"] for p in icu["points"]] == [p["t"] for p in kesambi["points"][3:]]
    assert {(p["capacity"], p["occupied"], p["bor"]) for p in icu["points"]} == {(4, 4, 1.0)}

    only_icu = await monitor_get(client, key, "history", bed_class="ICU", **window)
    assert [(s["hospital"], s["bed_class"]) for s in only_icu["series"]] == [("3274022", "ICU")]
    only_kesambi = await monitor_get(client, key, "history", hospital="3274011", **window)
    assert [(s["hospital"], s["bed_class"]) for s in only_kesambi["series"]] == [("3274011", "KL3")]
    other_region = await monitor_get(client, key, "history", region="3209", **window)
    assert other_region["series"] == []


async def test_history_csv_has_the_same_rows(client: Client, factory: Factory) -> None:
    t0 = await seed_timeline(client, factory)
    key = await factory.key("monitor")
    window = {"from": t0.isoformat(), "to": (t0 + timedelta(hours=6)).isoformat(), "bucket": "1h"}
    body = await monitor_get(client, key, "history", **window)

    response = await client.get(f"{MONITOR}/export.csv", params=window, headers=bearer(key))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "bucket_start",
        "hospital_code",
        "bed_class",
        "capacity",
        "occupied",
        "available",
        "bor",
    ]
    from_json = sorted(
        (p["t"], s["hospital"], s["bed_class"], p["capacity"], p["occupied"], p["available"])
        for s in body["series"]
        for p in s["points"]
    )
    from_csv = sorted(
        (datetime.fromisoformat(r[0]), r[1], r[2], int(r[3]), int(r[4]), int(r[5]))
        for r in rows[1:]
    )
    assert from_csv == [
        (datetime.fromisoformat(t), h, c, cap, occ, av) for t, h, c, cap, occ, av in from_json
    ]
    assert len(rows) == 1 + 6 + 3


async def test_history_rejects_bad_ranges(client: Client, factory: Factory) -> None:
    key = await factory.key("monitor")
    now = datetime.now(UTC)
    cases = [
        ({"bucket": "1x"}, "bucket"),
        ({"bucket": "30s"}, "bucket"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-22T10:00:00"}, "from"),
        ({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}, "from"),
        ({"bed_class": "KELAS9"}, "bed_class"),
        ({"from": (now - timedelta(days=30)).isoformat(), "bucket": "1m"}, "bucket"),
    ]
    for params, field in cases:
        response = await client.get(f"{MONITOR}/history", params=params, headers=bearer(key))
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == field, params


async def test_csv_export_of_a_month_at_one_report_per_minute(
    client: Client, factory: Factory, settings: Settings
) -> None:
    """A month of per-minute history (two wards, 86,400 rows) streams as 43,200 buckets."""
    code = await factory.hospital()
    key = await factory.key("monitor")
    start = hour_floor(datetime.now(UTC)) - timedelta(days=30)
    conn = await asyncpg.connect(settings.database.database_url)
    try:
        # Written directly: pushing 86,400 reports through HTTP would take minutes; the query
        # under test reads only the history table and the ward registry.
        await conn.execute(
            "INSERT INTO wards (hospital_code, ward_code, name, bed_class, capacity, available,"
            " reported_at, received_at)"
            " SELECT $1, w, w, 'KL3', 20, 0, $2, now() FROM unnest(ARRAY['A', 'B']) w",
            code,
            start,
        )
        await conn.execute(
            "INSERT INTO occupancy_history (version, hospital_code, ward_code, bed_class, change,"
            " capacity, available, reported_at, received_at)"
            " SELECT n, $1, w, 'KL3', 'report', 20, n % 21,"
            "        $2::timestamptz + n * interval '1 minute', now()"
            " FROM generate_series(0, 43199) n, unnest(ARRAY['A', 'B']) w",
            code,
            start,
        )
    finally:
        await conn.close()
    window = {
        "from": start.isoformat(),
        "to": (start + timedelta(days=30)).isoformat(),
        "bucket": "1m",
    }

    began = time.monotonic()
    response = await client.get(f"{MONITOR}/export.csv", params=window, headers=bearer(key))
    elapsed = time.monotonic() - began

    assert response.status_code == 200
    assert "content-length" not in response.headers  # streamed, not built in memory
    lines = response.text.splitlines()
    assert len(lines) == 1 + 43200
    for n in (0, 1, 20, 21, 43199):
        stamp, hospital, bed_class, capacity, occupied, available, _ = lines[1 + n].split(",")
        assert datetime.fromisoformat(stamp) == start + timedelta(minutes=n)
        free = 2 * (n % 21)
        assert (hospital, bed_class, capacity, occupied, available) == (
            code,
            "KL3",
            "40",
            str(40 - free),
            str(free),
        )
    assert elapsed < 60, f"a month of per-minute history took {elapsed:.1f} s"


async def test_openapi_documents_the_monitor_routes(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()

    monitor = sorted(path for path in doc["paths"] if path.startswith(MONITOR))
    assert monitor == [
        f"{MONITOR}/alerts",
        f"{MONITOR}/audit",
        f"{MONITOR}/export.csv",
        f"{MONITOR}/export/edxl-have.xml",
        f"{MONITOR}/export/fhir-measurereport.json",
        f"{MONITOR}/history",
        f"{MONITOR}/relay",
        f"{MONITOR}/stale",
        f"{MONITOR}/summary",
    ]
    history = doc["paths"][f"{MONITOR}/history"]["get"]
    assert {"from", "to", "bucket", "hospital", "bed_class"} <= {
        p["name"] for p in history["parameters"]
    }
    assert "/" not in doc["paths"]
    assert "/dashboard" not in doc["paths"]
