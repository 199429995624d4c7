"""Alerts for tests: a webhook receiver, alert settings, one alert cycle run at will."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import httpx
import msgspec
from pydantic import SecretStr

from bedsvc.ingest.schemas import OccupancyReport
from bedsvc.ingest.write import apply_report
from bedsvc.monitor.alerts import deliver_due
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support.factory import Factory
from tests.support.payloads import report, ward

Push = Callable[[str, dict[str, Any]], Awaitable[object]]


class Receiver:
    """A real HTTP server on 127.0.0.1 that records webhook calls and fails the first few."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[dict[str, Any]] = []
        self.raw: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.raw.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                receiver.calls.append(json.loads(raw))
                status = 503 if len(receiver.calls) <= receiver.failures else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[tuple[str, str, str]]:
        return [(c["event"], c["alert"]["rule"], c["alert"]["subject"]) for c in self.calls]


def webhook_secret(url: str) -> str:
    return f"secret-of-{url}"


def alert_settings(settings: Settings, **changes: Any) -> Settings:
    """The test receivers listen on plain http://127.0.0.1; each URL gets its own secret."""
    urls = changes.get("alert_webhook_urls", [])
    return settings.replace(
        **{
            "alert_webhook_urls": [],
            "alert_webhook_secrets": [SecretStr(webhook_secret(url)) for url in urls],
            "alert_webhook_allow_http": True,
            "alert_webhook_backoff_seconds": 0.05,
            "alert_webhook_backoff_max_seconds": 0.2,
            "alert_webhook_timeout_seconds": 2.0,
            # Rules fire and resolve at the first evaluation that sees the change.
            "alert_hold_seconds": 0,
        }
        | changes
    )


async def deliver_all(services: Services, settings: Settings) -> None:
    """Polls the outbox until nothing is due or waiting for a retry."""
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(100):
            await deliver_due(services.pool, services.queries, settings, http)
            async with services.pool.acquire() as conn:
                pending = await conn.fetchval(
                    "SELECT count(*) FROM alert_deliveries"
                    " WHERE delivered_at IS NULL AND failed_at IS NULL"
                )
            if not pending:
                return
            await asyncio.sleep(0.05)
    raise AssertionError("deliveries still pending")


async def rows(services: Services, query: str) -> list[asyncpg.Record]:
    async with services.pool.acquire() as conn:
        return await conn.fetch(query)


def direct(services: Services) -> Push:
    """Reports through the ingest service, with no app (and no app's alert task) running."""

    async def push_report(code: str, body: dict[str, Any]) -> object:
        data = msgspec.json.decode(msgspec.json.encode(body), type=OccupancyReport)
        return await apply_report(
            services.pool,
            services.queries,
            services.sync,
            code,
            data,
            None,
            max_open_wards=services.settings.ingest.max_wards_per_hospital,
        )

    return push_report


async def icu_region(factory: Factory) -> Push:
    await factory.hospital("3274011", "3274")
    push_report = direct(factory.services)
    await push_report("3274011", report(ward("ICU1", "ICU", 6, 1), ward("MAWAR", "KL3", 20, 4)))
    return push_report


async def set_icu(push_report: Push, available: int) -> None:
    await push_report("3274011", report(ward("ICU1", "ICU", 6, available), at=datetime.now(UTC)))
