"""Settings come from BEDSVC_* environment variables, parsed once, each one documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bedsvc.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No BEDSVC_ variable of the machine leaks into the test."""
    for name in list(os.environ):
        if name.startswith("BEDSVC_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_without_environment(environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.database.database_url is None
    assert settings.ingest.stale_after_seconds == 1800
    assert settings.monitor.alert_rules == [
        "class_exhausted",
        "hospital_stale",
        "hospital_stale_escalated",
        "relay_failing",
    ]
    assert settings.bridges.aplicares_max_skew_seconds == 60
    assert settings.monitor.alert_webhook_allow_http is False


def test_values_are_parsed_by_type(environment: pytest.MonkeyPatch) -> None:
    values = {
        "BEDSVC_DATABASE_URL": "postgresql://db.example/bedsvc",
        "BEDSVC_DATA_DIR": "/var/lib/bedsvc",
        "BEDSVC_STALE_AFTER_SECONDS": "600",
        "BEDSVC_CACHE_RECONCILE_SECONDS": "0.5",
        "BEDSVC_LOG_JSON": "false",
        "BEDSVC_PUBLIC_FAST_PATH": "0",
        "BEDSVC_ALERT_RULES": " hospital_stale ",
        "BEDSVC_ALERT_BED_CLASSES": "ICU, NICU,,PICU",
        "BEDSVC_ALERT_WEBHOOK_URLS": "https://a.example/h,https://b.example/h",
        "BEDSVC_ALERT_WEBHOOK_SECRETS": "s-a,s-b",
        "BEDSVC_SECRET_KEY": "not-shown",
        "BEDSVC_TIMEZONE": "Asia/Makassar",
        "BEDSVC_MAX_WARDS_PER_HOSPITAL": "50",
    }
    for name, value in values.items():
        environment.setenv(name, value)

    settings = Settings()

    assert settings.database.database_url == "postgresql://db.example/bedsvc"
    assert settings.server.data_dir == Path("/var/lib/bedsvc")
    assert settings.ingest.stale_after_seconds == 600
    assert settings.redis.cache_reconcile_seconds == 0.5
    assert settings.server.log_json is False
    assert settings.public.public_fast_path is False
    assert settings.monitor.alert_rules == ["hospital_stale"]
    assert settings.monitor.alert_bed_classes == ["ICU", "NICU", "PICU"]
    assert settings.monitor.webhook_secret("https://b.example/h") == b"s-b"
    assert settings.server.secret_key is not None
    assert settings.server.secret_key.get_secret_value() == "not-shown"
    assert "not-shown" not in repr(settings)
    assert settings.server.timezone == "Asia/Makassar"
    assert settings.ingest.max_wards_per_hospital == 50


def test_empty_list_turns_alerts_off(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("BEDSVC_ALERT_RULES", "")
    assert Settings().monitor.alert_rules == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BEDSVC_STALE_AFTER_SECONDS", "0"),
        ("BEDSVC_STALE_AFTER_SECONDS", "soon"),
        ("BEDSVC_ALERT_RULES", "class_exhausted,sometimes"),
        ("BEDSVC_TIMEZONE", "Asia/Atlantis"),
        ("BEDSVC_SIRS_PREFIX", "sirs/no-leading-slash"),
        ("BEDSVC_PUBLIC_GZIP_LEVEL", "9"),
        ("BEDSVC_LOG_JSON", "maybe"),
    ],
)
def test_bad_values_stop_the_start(environment: pytest.MonkeyPatch, name: str, value: str) -> None:
    environment.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("BEDSVC_").lower()):
        Settings()


def test_the_configuration_table_is_current() -> None:
    """docs/operations.md's table is written from the settings' descriptions: a setting added
    or changed without running scripts/gen-settings-table would be documented wrongly."""
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-settings-table"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_area_reads_its_settings_by_their_flat_names(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BEDSVC_LIVE_PORT", "8765")
    environment.setenv("BEDSVC_REDIS_URL", "redis://cache.example/0")

    settings = Settings(database_url="postgresql://db.example/bedsvc", public_fast_path=False)

    assert settings.live.live_port == 8765
    assert settings.redis.redis_url == "redis://cache.example/0"
    assert settings.database.database_url == "postgresql://db.example/bedsvc"
    assert settings.public.public_fast_path is False
    assert set(settings.flat()) == {
        name
        for area in Settings.model_fields
        for name in type(getattr(settings, area)).model_fields
    }


def test_a_started_process_reaches_the_same_servers(environment: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url="postgresql://db.example/bedsvc", redis_url="unix:///r.sock")
    for name, value in settings.server_environment().items():
        environment.setenv(name, value)

    assert Settings().urls() == ("postgresql://db.example/bedsvc", "unix:///r.sock")


def test_replace_changes_settings_by_name_and_validates_them(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = Settings(redis_url="redis://cache.example/0", redis_prefix="region")

    changed = settings.replace(redis_url="redis://other.example/0", live_port=9000)

    assert changed.redis.redis_url == "redis://other.example/0"
    assert changed.redis.redis_prefix == "region"
    assert changed.live.live_port == 9000
    assert settings.redis.redis_url == "redis://cache.example/0"
    with pytest.raises(ValueError, match="no setting is named 'live_prot'"):
        settings.replace(live_prot=9000)
    with pytest.raises(ValidationError, match="live_port"):
        settings.replace(live_port=0)
    with pytest.raises(ValidationError, match="BEDSVC_REDIS_SENTINEL_MASTER"):
        settings.replace(redis_url=None, redis_sentinels=["10.0.0.1:26379"])


def test_settings_given_in_code_win_over_the_environment(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BEDSVC_DATABASE_URL", "postgresql://from-the-environment/bedsvc")
    with pytest.raises(ValueError, match="no setting is named 'databse_url'"):
        Settings(databse_url="postgresql://typo/bedsvc")
    assert Settings(database_url="postgresql://given/bedsvc").database.database_url == (
        "postgresql://given/bedsvc"
    )
