"""Day buckets of the monitor's history start at local midnight (BEDSVC_TIMEZONE), not UTC's."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from bedsvc.app import create_app
from bedsvc.settings import Settings
from tests.support import Factory, bearer, report, ward
from tests.support.region import push

JAKARTA = ZoneInfo("Asia/Jakarta")  # UTC+7, no daylight saving


async def day_points(settings: Settings, factory: Factory, timezone: str) -> list[dict[str, str]]:
    """Two reports of one ward, half an hour either side of a Jakarta midnight, read back as
    day buckets over the two Jakarta days around it."""
    midnight = datetime.combine(
        datetime.now(JAKARTA).date() - timedelta(days=2), time(0), tzinfo=JAKARTA
    )
    # Reports of two days ago: past the default age limit of a report.
    update = {"timezone": timezone, "max_report_age_seconds": 7 * 86_400}
    app = create_app(settings.replace(**update))
    async with AsyncTestClient(app=app) as client:
        code = await factory.hospital()
        key = await factory.key(hospital_code=code)
        monitor = await factory.key("monitor")
        before = report(ward("MAWAR", available=1), at=midnight - timedelta(minutes=30))
        after = report(ward("MAWAR", available=2), at=midnight + timedelta(minutes=30))
        await push(client, key, code, before)
        await push(client, key, code, after)
        window = {
            "from": (midnight - timedelta(days=1)).isoformat(),
            "to": (midnight + timedelta(days=1)).isoformat(),
            "bucket": "1d",
        }
        response = await client.get(
            "/api/v1/monitor/history", params=window, headers=bearer(monitor)
        )
    assert response.status_code == 200, response.text
    [series] = response.json()["series"]
    points: list[dict[str, str]] = series["points"]
    return points


async def test_day_buckets_start_at_local_midnight(
    settings: Settings, clean: None, factory: Factory
) -> None:
    points = await day_points(settings, factory, "Asia/Jakarta")

    starts = [datetime.fromisoformat(p["t"]).astimezone(JAKARTA) for p in points]
    assert [(s.hour, s.minute) for s in starts] == [(0, 0), (0, 0)]
    assert starts[1] - starts[0] == timedelta(days=1)
    # 23:30 belongs to the day before, 00:30 to the day after.
    assert [p["available"] for p in points] == [1, 2]


async def test_the_time_zone_setting_moves_the_day(
    settings: Settings, clean: None, factory: Factory
) -> None:
    points = await day_points(settings, factory, "UTC")

    # In UTC both reports (16:30 and 17:30) fall on one day; its bucket starts at 00:00 UTC.
    starts = [datetime.fromisoformat(p["t"]) for p in points]
    assert all((s.hour, s.minute, s.utcoffset()) == (0, 0, timedelta(0)) for s in starts)
    by_day = {s.date(): p["available"] for s, p in zip(starts, points, strict=True)}
    assert 2 in by_day.values()
    assert 1 not in by_day.values()
