"""Stale reminders to the hospital itself: one per lapse, by mail (aiosmtpd as the server) and
Telegram (a local server playing the Bot API), from an outbox any worker may claim."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from bedsvc.admin.importer import import_csv
from bedsvc.app import build_services
from bedsvc.local_time import local_time
from bedsvc.monitor.alerts import evaluate
from bedsvc.reminders import outbox
from bedsvc.services import Services
from bedsvc.settings import Settings
from bedsvc.store.reminders import reminder_contacts
from tests.support import Factory, bearer, report, ward
from tests.support.alerts import alert_settings, direct, rows
from tests.support.mail import MailServer, TelegramServer
from tests.support.serve import ServeProcess, server_env

GUNUNG_JATI = "3274011"
PELABUHAN = "3274022"
ENTRY = "https://beds.example.go.id/rs"
STALE = timedelta(seconds=2)
ONE_ADDRESS = f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id,"
TOKEN = "123456:test-token"


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def reminder_settings(
    settings: Settings, mail: MailServer | None = None, **changes: Any
) -> Settings:
    return alert_settings(
        settings,
        smtp_url=SecretStr(mail.url) if mail else None,
        smtp_from="Dinas Kesehatan <bedsvc@dinkes.example.go.id>",
        public_url="https://beds.example.go.id/",
        reminder_backoff_seconds=0.05,
        reminder_backoff_max_seconds=0.2,
        **changes,
    )


def registry_csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "hospitals.csv"
    header = "code,name,region_code,reminder_emails,telegram_chat_ids\n"
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


async def import_registry(settings: Settings, tmp_path: Path, *lines: str) -> None:
    imported = await import_csv(str(settings.database.database_url), registry_csv(tmp_path, *lines))
    assert imported.errors == []


async def step(services: Services, config: Settings, stale_after: timedelta = STALE) -> None:
    """One round of a worker: the lapses, then every reminder due now."""
    await outbox.track(services.pool, services.queries, config, stale_after)
    async with httpx.AsyncClient(timeout=2) as http:
        while await outbox.deliver(services.pool, services.queries, config, http, stale_after):
            pass


async def step_until(
    services: Services, config: Settings, done: Any, timeout: float = 20.0
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "not done in time"
        await step(services, config)
        await asyncio.sleep(0.1)


def sample(channel: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "bedsvc_reminders_total", {"channel": channel, "outcome": outcome}
    )
    return value or 0.0


async def test_one_mail_per_lapse_and_a_fresh_report_rearms_it(
    services: Services, settings: Settings, mail: MailServer, tmp_path: Path
) -> None:
    config = reminder_settings(settings, mail)
    await import_registry(
        settings,
        tmp_path,
        f'{GUNUNG_JATI},RSUD Gunung Jati,3274,"igd@rsgj.example.id, ruang@rsgj.example.id",',
        f"{PELABUHAN},RS Pelabuhan,3274,,",
    )
    push = direct(services)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for code in (GUNUNG_JATI, PELABUHAN):
        await push(
            code, report(ward("MAWAR", "KL3", 20, 4), ward("ICU1", "ICU", 6, 1), at=an_hour_ago)
        )
    sent_before = sample("email", "sent")

    await step(services, config)

    assert sorted(m.recipients for m in mail.mails) == [
        ["igd@rsgj.example.id"],
        ["ruang@rsgj.example.id"],
    ], [m.recipients for m in mail.mails]
    [first] = mail.to("igd@rsgj.example.id")
    assert first.subject == "Pengingat: data tempat tidur RSUD Gunung Jati belum diperbarui"
    plain = first.part("plain")
    assert "RSUD Gunung Jati (3274011)" in plain
    assert f"belum diperbarui sejak {local_time(an_hour_ago, '3274', 'Asia/Jakarta')}." in plain
    assert local_time(an_hour_ago, "3274", "Asia/Jakarta").endswith(" WIB")
    assert "- Ruang Mawar (MAWAR), Kelas III: terakhir diperbarui" in plain
    assert "- Ruang Icu1 (ICU1), ICU" in plain
    assert ENTRY in plain
    assert f'<a href="{ENTRY}">' in first.part("html")
    assert first.message["From"] == "Dinas Kesehatan <bedsvc@dinkes.example.go.id>"
    assert sample("email", "sent") - sent_before == 2

    # The same lapse: nothing more, however often the workers look.
    for _ in range(3):
        await step(services, config)
    assert len(mail.mails) == 2

    # A fresh report ends the lapse; once it is stale in turn, one more mail per address.
    await push(GUNUNG_JATI, report(ward("MAWAR", "KL3", 20, 3), at=datetime.now(UTC)))
    await step_until(services, config, lambda: len(mail.mails) == 4)
    for _ in range(3):
        await step(services, config)
    assert len(mail.to("igd@rsgj.example.id")) == 2
    assert len(mail.to("ruang@rsgj.example.id")) == 2
    second = mail.to("igd@rsgj.example.id")[1].part("plain")
    assert "(MAWAR)" in second
    assert "(ICU1)" in second


async def test_a_report_already_stale_on_arrival_does_not_start_a_new_lapse(
    services: Services, settings: Settings, mail: MailServer, tmp_path: Path
) -> None:
    """A system whose clock lags reports data that is stale when it arrives: it stays one
    lapse (one reminder), not one per push."""
    config = reminder_settings(settings, mail)
    await import_registry(
        settings, tmp_path, f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id,"
    )
    push = direct(services)
    for minutes in (60, 50, 40):
        await push(GUNUNG_JATI, report(ward(), at=datetime.now(UTC) - timedelta(minutes=minutes)))
        await step(services, config)
    assert len(mail.mails) == 1


async def test_a_lapse_that_ends_before_its_reminder_goes_out_sends_nothing(
    services: Services, settings: Settings, mail: MailServer, tmp_path: Path
) -> None:
    config = reminder_settings(settings, mail)
    await import_registry(
        settings, tmp_path, f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id,"
    )
    push = direct(services)
    half_hour = timedelta(minutes=30)
    await push(GUNUNG_JATI, report(ward(), at=datetime.now(UTC) - timedelta(hours=1)))
    await outbox.track(services.pool, services.queries, config, half_hour)
    await push(GUNUNG_JATI, report(ward(), at=datetime.now(UTC)))

    await step(services, config, half_hour)

    assert mail.mails == []
    [delivery] = await rows(services, "SELECT cancelled_at, last_error FROM reminder_deliveries")
    assert delivery["cancelled_at"] is not None
    assert delivery["last_error"] == "lapse ended"


async def test_still_stale_after_the_escalation_time_a_second_reminder_and_an_alert(
    services: Services, settings: Settings, mail: MailServer, tmp_path: Path
) -> None:
    config = reminder_settings(settings, mail, stale_escalate_seconds=1)
    await import_registry(
        settings, tmp_path, f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id,"
    )
    three_hours_ago = datetime.now(UTC) - timedelta(hours=3)
    await direct(services)(GUNUNG_JATI, report(ward(), at=three_hours_ago))

    await step(services, config)
    assert len(mail.mails) == 1
    await step_until(services, config, lambda: len(mail.mails) == 2, timeout=10)
    for _ in range(3):
        await step(services, config)

    assert len(mail.mails) == 2
    second = mail.mails[1]
    assert second.subject.startswith("Pengingat kedua: ")
    assert "Ini pengingat kedua" in second.part("plain")
    await evaluate(services.pool, services.queries, config, timedelta(minutes=30))
    [alert] = await rows(
        services, "SELECT message FROM alerts WHERE rule = 'hospital_stale_escalated'"
    )
    assert alert["message"].startswith("RSUD Gunung Jati (3274011) masih belum melapor sejak ")
    assert "pengingat kedua dikirim ke 1 alamat" in alert["message"]


async def test_telegram_reminder_is_retried_and_counted(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    with TelegramServer(TOKEN, failures=1) as bot:
        config = reminder_settings(
            settings,
            telegram_bot_token=SecretStr(TOKEN),
            telegram_api_url=bot.url,
        )
        await import_registry(
            settings, tmp_path, f"{GUNUNG_JATI},RSUD Gunung Jati,7371,,-1001234567890"
        )
        await direct(services)(
            GUNUNG_JATI, report(ward(), at=datetime.now(UTC) - timedelta(hours=1))
        )
        retried, sent = sample("telegram", "retry"), sample("telegram", "sent")

        await step_until(services, config, lambda: len(bot.calls) == 1)

    assert bot.attempts == 2
    [call] = bot.calls
    assert call["chat_id"] == "-1001234567890"
    assert "RSUD Gunung Jati (3274011)" in call["text"]
    assert " WITA" in call["text"]  # Makassar's region: central Indonesian time
    assert ENTRY in call["text"]
    assert (sample("telegram", "retry") - retried, sample("telegram", "sent") - sent) == (1, 1)
    [delivery] = await rows(services, "SELECT attempts, delivered_at FROM reminder_deliveries")
    assert delivery["attempts"] == 2
    assert delivery["delivered_at"] is not None


async def test_several_workers_send_each_reminder_once(
    factory: Factory, settings: Settings, mail: MailServer, tmp_path: Path
) -> None:
    config = reminder_settings(settings, mail)
    await import_registry(
        settings,
        tmp_path,
        f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id ruang@rsgj.example.id,",
    )
    await direct(factory.services)(
        GUNUNG_JATI, report(ward(), at=datetime.now(UTC) - timedelta(hours=1))
    )
    workers = [await build_services(config) for _ in range(4)]
    try:
        for _ in range(3):
            await asyncio.gather(*(step(worker, config) for worker in workers))
    finally:
        for worker in workers:
            await worker.redis.aclose()
            await worker.pool.close()

    assert sorted(r for m in mail.mails for r in m.recipients) == [
        "igd@rsgj.example.id",
        "ruang@rsgj.example.id",
    ]
    attempts = await rows(factory.services, "SELECT attempts FROM reminder_deliveries")
    assert [a["attempts"] for a in attempts] == [1, 1]


async def test_admin_api_sets_keeps_and_clears_the_contacts(
    client: Any, factory: Factory, services: Services
) -> None:
    admin = await factory.key("admin")
    hospital = {"code": GUNUNG_JATI, "name": "RSUD Gunung Jati", "region_code": "3274"}

    async def save(**fields: Any) -> httpx.Response:
        response: httpx.Response = await client.post(
            "/api/v1/admin/hospitals", json=hospital | fields, headers=bearer(admin)
        )
        return response

    async def contacts() -> tuple[list[str], list[str]]:
        async with services.pool.acquire() as conn:
            found = await reminder_contacts(conn, services.queries, GUNUNG_JATI)
        assert found is not None
        return found.reminder_emails, found.telegram_chat_ids

    saved = await save(
        reminder_emails=["igd@rsgj.example.id", "igd@rsgj.example.id"],
        telegram_chat_ids=["-100123", "@rsgj_ruang"],
    )
    assert saved.status_code == 200, saved.text
    assert await contacts() == (["igd@rsgj.example.id"], ["-100123", "@rsgj_ruang"])
    assert (await save(phone="0231-1")).status_code == 200
    assert await contacts() == (["igd@rsgj.example.id"], ["-100123", "@rsgj_ruang"])
    assert (await save(reminder_emails=[])).status_code == 200
    assert await contacts() == ([], ["-100123", "@rsgj_ruang"])

    bad = await save(reminder_emails=["igd at rsgj"])
    assert bad.status_code == 422
    assert "reminder_emails" in bad.json()["detail"]
    assert (await save(telegram_chat_ids=["not a chat"])).status_code == 422


def test_local_times_follow_the_region() -> None:
    moment = datetime(2026, 12, 12, 7, 5, tzinfo=UTC)
    assert local_time(moment, "3274", "Asia/Jakarta") == "12 Des 2026 14.05 WIB"
    assert local_time(moment, "7371", "Asia/Jakarta") == "12 Des 2026 15.05 WITA"
    assert local_time(moment, "5171", "Asia/Jakarta") == "12 Des 2026 15.05 WITA"
    assert local_time(moment, "9471", "Asia/Jakarta") == "12 Des 2026 16.05 WIT"
    assert local_time(moment, "X1", "Asia/Makassar") == "12 Des 2026 15.05 WITA"


async def test_serve_mails_a_stale_hospital_once_per_lapse(
    settings: Settings, clean: None, factory: Factory, mail: MailServer, tmp_path: Path
) -> None:
    """As operators run it: two workers, a hospital imported with an address mailed once when
    it goes stale, one without an address not at all; a fresh report and a new lapse, one more."""
    env = server_env(
        settings,
        tmp_path / "data",
        BEDSVC_STALE_AFTER_SECONDS="2",
        BEDSVC_ALERT_INTERVAL_SECONDS="0.5",
        BEDSVC_SMTP_URL=mail.url,
        BEDSVC_SMTP_FROM="bedsvc@dinkes.example.go.id",
        BEDSVC_PUBLIC_URL="https://beds.example.go.id",
    )
    registry = registry_csv(
        tmp_path,
        f"{GUNUNG_JATI},RSUD Gunung Jati,3274,igd@rsgj.example.id,",
        f"{PELABUHAN},RS Pelabuhan,3274,,",
    )
    imported = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bedsvc",
        "hospitals",
        "import",
        str(registry),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await imported.communicate()
    assert imported.returncode == 0, errors.decode()
    with ServeProcess(env, "serve", "--workers", "2") as server:
        await server.ready()
        await wait_for(lambda: len(mail.mails) >= 1, timeout=30)
        await asyncio.sleep(3)  # several evaluations by both workers: still one mail
        assert [m.recipients for m in mail.mails] == [["igd@rsgj.example.id"]]
        assert "RSUD Gunung Jati" in mail.mails[0].subject
        assert ENTRY in mail.mails[0].part("plain")

        key = await factory.key(hospital_code=GUNUNG_JATI)
        async with httpx.AsyncClient(base_url=server.http) as http:
            pushed = await http.post(
                f"/api/v1/hospitals/{GUNUNG_JATI}/occupancy",
                json=report(ward(), at=datetime.now(UTC)),
                headers=bearer(key),
            )
        assert pushed.status_code == 200, pushed.text
        await wait_for(lambda: len(mail.mails) >= 2, timeout=30)
        await asyncio.sleep(3)
        assert [m.recipients for m in mail.mails] == [["igd@rsgj.example.id"]] * 2


async def wait_for(done: Any, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "not done in time"
        await asyncio.sleep(0.1)
