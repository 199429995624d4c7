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
    assert settings.database_url is None
    assert settings.stale_after_seconds == 1800
    assert settings.alert_rules == [
        "class_exhausted",
        "hospital_stale",
        "hospital_stale_escalated",
        "relay_failing",
    ]
    assert settings.aplicares_max_skew_seconds == 60
    assert settings.alert_webhook_allow_http is False


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

    assert settings.database_url == "postgresql://db.example/bedsvc"
    assert settings.data_dir == Path("/var/lib/bedsvc")
    assert settings.stale_after_seconds == 600
    assert settings.cache_reconcile_seconds == 0.5
    assert settings.log_json is False
    assert settings.public_fast_path is False
    assert settings.alert_rules == ["hospital_stale"]
    assert settings.alert_bed_classes == ["ICU", "NICU", "PICU"]
    assert settings.webhook_secret("https://b.example/h") == b"s-b"
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "not-shown"
    assert "not-shown" not in repr(settings)
    assert settings.timezone == "Asia/Makassar"
    assert settings.max_wards_per_hospital == 50


def test_empty_list_turns_alerts_off(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("BEDSVC_ALERT_RULES", "")
    assert Settings().alert_rules == []


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
