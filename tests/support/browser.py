"""bedsvc served by granian in a subprocess and Chromium pages on it (Playwright)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page

from bedsvc.settings import Settings
from tests.support.factory import Factory
from tests.support.live import free_port
from tests.support.payloads import bearer, report, ward
from tests.support.serve import server_env


def _chromium() -> Path:
    """BEDSVC_TEST_CHROMIUM, or else the distribution's headless shell, or else its full
    browser. The headless shell is Chromium's engine (Blink, V8, the network stack, service
    workers) without the browser's interface, as Playwright itself runs headless Chromium; the
    browser tests cost it about 40 % less CPU than the full browser."""
    chosen = os.environ.get("BEDSVC_TEST_CHROMIUM")
    if chosen:
        return Path(chosen)
    shell, browser = Path("/usr/bin/chromium-headless-shell"), Path("/usr/bin/chromium")
    return browser if browser.exists() and not shell.exists() else shell


CHROMIUM = _chromium()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Fewer processes for pages that all come from one loopback origin: a renderer per site
    # and the zygote cost the browser modules about a quarter of Chromium's CPU.
    "--no-zygote",
    "--disable-features=site-per-process,IsolateOrigins,Translate,OptimizationHints,MediaRouter",
    "--disable-extensions",
    "--mute-audio",
]


SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


PHONE = {"width": 390, "height": 844}


DESKTOP = {"width": 1280, "height": 900}


def wait_until_ready(
    base_url: str, live_port: str, server: subprocess.Popen[bytes], log: Path
) -> None:
    """Until the HTTP workers are ready and the live process answers."""
    deadline = time.monotonic() + 60
    waiting = [f"{base_url}/readyz", f"http://127.0.0.1:{live_port}/healthz"]
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"bedsvc exited during start-up:\n{log.read_text()[-3000:]}")
        try:
            while waiting and httpx.get(waiting[0], timeout=2).status_code == 200:
                waiting.pop(0)
        except httpx.HTTPError:
            pass
        if not waiting:
            return
        time.sleep(0.2)
    raise RuntimeError(f"bedsvc was not ready within 60 s:\n{log.read_text()[-3000:]}")


class Served:
    """A `bedsvc serve` process group and the address of its HTTP workers."""

    def __init__(self, base_url: str, process: subprocess.Popen[bytes]) -> None:
        self.base_url = base_url
        self.process = process

    def kill(self) -> None:
        """Stops the server at once, workers and live process with it, as a crash would."""
        with suppress(ProcessLookupError):  # the group has gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextmanager
def serve_bedsvc(settings: Settings, data_dir: Path) -> Iterator[Served]:
    """`python -m bedsvc serve` on a free port, on this session's database and Redis prefix.
    The tables may be emptied under it between tests (`empty_state` leaves a rebuilt, empty
    cache, which the server's change feed follows at once)."""
    env = server_env(
        settings,
        data_dir,
        BEDSVC_STALE_AFTER_SECONDS="3600",
        BEDSVC_ALERT_INTERVAL_SECONDS="0.5",
        BEDSVC_ALERT_HOLD_SECONDS="0",
    )
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="bedsvc-server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(
            [sys.executable, "-m", "bedsvc", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too are stopped with the group
        )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_ready(served.base_url, env["BEDSVC_LIVE_PORT"], process, log_path)
        yield served
    finally:
        # Killed, not stopped: a graceful stop waits for the pages' open streams, and the
        # shutdown has tests of its own (tests/runtime/test_shutdown.py).
        served.kill()
        log_path.unlink(missing_ok=True)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. Install it "
            "with `scripts/install-system-deps chromium-headless-shell` (`make test` does this "
            "when it can), or point BEDSVC_TEST_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )


async def new_page(browser: Browser, viewport: dict[str, int], **options: Any) -> Page:
    context = await browser.new_context(viewport=viewport, locale="id-ID", **options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def wait_in_page(page: Page, expression: str, timeout: float = 15.0) -> None:
    """Polls a JavaScript expression (a value or a promise) until it is true, with a deadline.

    Playwright's `wait_for_function` re-evaluates its predicate with `eval` inside the page,
    which the pages' Content-Security-Policy forbids; `evaluate` runs through the debugging
    protocol, which the policy does not govern."""
    deadline = time.monotonic() + timeout
    seen: object = None
    while time.monotonic() < deadline:
        seen = await page.evaluate(expression)
        if seen is True:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {expression} (last seen: {seen!r})")


def screenshot(name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / name


async def seed(factory: Factory, base_url: str) -> dict[str, str]:
    """Three hospitals near Kesambi: two fresh, one that last reported two hours ago."""
    hospitals = [
        ("3274011", "RSUD Gunung Jati", -6.7196, 108.5567, "(0231) 206330"),
        ("3274022", "RS Pelabuhan Cirebon", -6.7105, 108.5671, "0231-204900"),
        ("3274033", "RS Mitra Plumbon", -6.7459, 108.5213, "0231-8800700"),
    ]
    keys = {}
    for code, name, lat, lon, phone in hospitals:
        await factory.hospital(code, "3274", name=name, lat=lat, lon=lon, phone=phone)
        keys[code] = await factory.key(hospital_code=code)
    now = datetime.now(UTC)
    reports = {
        "3274011": report(ward("MAWAR", "KL3", 20, 3), ward("ICU", "ICU", 6, 2), at=now),
        "3274022": report(ward("KENANGA", "KL3", 12, 5), ward("ICU", "ICU", 4, 0), at=now),
        "3274033": report(ward("MELATI", "KL3", 10, 4), at=now - timedelta(hours=2)),
    }
    async with httpx.AsyncClient(base_url=base_url) as http:
        for code, body in reports.items():
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy", json=body, headers=bearer(keys[code])
            )
            assert response.status_code == 200, response.text
    return keys
