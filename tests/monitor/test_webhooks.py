"""Webhook deliveries are signed, only https by default, and keep no URL in their errors."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time

import pytest
from pydantic import SecretStr, ValidationError

from bedsvc.monitor.alerts import evaluate
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory
from tests.support.alerts import (
    Receiver,
    alert_settings,
    deliver_all,
    icu_region,
    rows,
    set_icu,
    webhook_secret,
)


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """What docs/api.md tells a receiver to do."""
    timestamp = headers["x-bedsvc-timestamp"]
    if abs(now - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest("v1=" + expected.hexdigest(), headers["x-bedsvc-signature"])


async def test_each_delivery_is_signed_with_its_urls_secret(
    factory: Factory, services: Services, settings: Settings
) -> None:
    pusher = await icu_region(factory)
    await set_icu(pusher, 0)
    with Receiver() as first, Receiver() as second:
        config = alert_settings(settings, alert_webhook_urls=[first.url, second.url])
        await evaluate(services.pool, services.queries, config, services.stale_after)
        await deliver_all(services, config)

        for receiver, other in ((first, second), (second, first)):
            [(headers, body)] = receiver.raw
            assert verify(webhook_secret(receiver.url), headers, body, time.time())
            assert not verify(webhook_secret(other.url), headers, body, time.time())
            assert not verify(webhook_secret(receiver.url), headers, body + b" ", time.time())
            assert not verify(webhook_secret(receiver.url), headers, body, time.time() + 3600)


def test_webhook_urls_must_be_https_unless_allowed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_URLS", "http://hooks.example/a")
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_SECRETS", "s1")
    with pytest.raises(ValidationError, match="must start with https://"):
        Settings()
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_ALLOW_HTTP", "true")
    assert Settings().monitor.alert_webhook_urls == ["http://hooks.example/a"]


def test_every_webhook_url_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_URLS", "https://a.example/h,https://b.example/h")
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_SECRETS", "only-one")
    with pytest.raises(ValidationError, match="one per URL"):
        Settings()
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_SECRETS", "s1, s2")
    parsed = Settings()
    assert parsed.monitor.webhook_secret("https://b.example/h") == b"s2"
    assert "s2" not in repr(parsed)


def test_urls_with_credentials_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_URLS", "https://user:hunter2@hooks.example/h")
    monkeypatch.setenv("BEDSVC_ALERT_WEBHOOK_SECRETS", "s1")
    with pytest.raises(ValidationError, match="carries credentials") as error:
        Settings()
    assert "hunter2" not in str(error.value)


async def test_a_failed_delivery_stores_no_url(
    factory: Factory, services: Services, settings: Settings
) -> None:
    pusher = await icu_region(factory)
    await set_icu(pusher, 0)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook/token-abc123?key=query-secret"
    config = alert_settings(settings, alert_webhook_urls=[url], alert_webhook_max_attempts=1)
    config = config.replace(alert_webhook_secrets=[SecretStr("s")])

    await evaluate(services.pool, services.queries, config, services.stale_after)
    await deliver_all(services, config)

    [row] = await rows(services, "SELECT last_error, failed_at FROM alert_deliveries")
    assert row["failed_at"] is not None
    assert row["last_error"] == "ConnectError"
