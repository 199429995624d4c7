"""`bedsvc demo`: the service with the Kota Cirebon demo region and live simulated hospitals."""

from __future__ import annotations

import asyncio
import csv
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx
import structlog

from bedsvc.admin.importer import import_csv
from bedsvc.admin.keys import issue_aplicares_from_cli, issue_from_cli, issue_sirs_from_cli
from bedsvc.bridges.credentials import AplicaresCredential, SirsCredential
from bedsvc.demo.bridges import AplicaresBridge, SirsBridge, class_codes
from bedsvc.demo.simulator import DATA_DIR, SimulatedHospital, load_wards, simulate
from bedsvc.settings import Settings
from bedsvc.store import migrate

log = structlog.get_logger(__name__)

# Hospitals whose simulated SIMRS reports through a bridge; the others use the native API.
APLICARES_HOSPITALS = ("3274012", "3274013", "3274014")
SIRS_HOSPITALS = ("3274015", "3274016", "3274017")

BridgeCredentials = dict[str, AplicaresCredential | SirsCredential]


def ppk_codes() -> dict[str, str]:
    with (DATA_DIR / "hospitals.csv").open(newline="", encoding="utf-8") as file:
        return {row["code"]: row["bpjs_ppk_code"] for row in csv.DictReader(file)}


async def prepare(settings: Settings) -> tuple[list[SimulatedHospital], BridgeCredentials]:
    """Schema, the demo hospitals, a fresh key for each simulated hospital system, and bridge
    credentials for those that report through a bridge."""
    database_url, _ = settings.urls()
    await migrate(database_url)
    report = await import_csv(database_url, DATA_DIR / "hospitals.csv")
    if report.errors:
        raise RuntimeError(f"demo data rejected: {report.errors}")
    wards = load_wards(random.Random())  # noqa: S311 - simulated occupancy
    hospitals = []
    credentials: BridgeCredentials = {}
    for code, hospital_wards in sorted(wards.items()):
        issued = await issue_from_cli(database_url, code, None, "demo simulator")
        hospitals.append(SimulatedHospital(code=code, key=issued.key, wards=hospital_wards))
        if code in APLICARES_HOSPITALS:
            credentials[code] = await issue_aplicares_from_cli(
                settings, database_url, code, "demo simulator"
            )
        elif code in SIRS_HOSPITALS:
            credentials[code] = await issue_sirs_from_cli(database_url, code, "demo simulator")
    return hospitals, credentials


def bridge_attacher(
    hospitals: list[SimulatedHospital], credentials: BridgeCredentials, sirs_prefix: str
) -> Callable[[httpx.AsyncClient], Awaitable[None]]:
    async def attach(client: httpx.AsyncClient) -> None:
        aplicares_codes, sirs_ids = await class_codes(client)
        ppk = ppk_codes()
        for hospital in hospitals:
            credential = credentials.get(hospital.code)
            if isinstance(credential, AplicaresCredential):
                hospital.bridge = AplicaresBridge(credential, ppk[hospital.code], aplicares_codes)
            elif isinstance(credential, SirsCredential):
                hospital.bridge = SirsBridge(credential, sirs_ids, sirs_prefix)

    return attach


def wait_until_ready(
    base_url: str, server: subprocess.Popen[bytes], timeout: float = 60, *health_urls: str
) -> None:
    """Until the HTTP workers are ready and every URL of `health_urls` (the live processes'
    /healthz) answers."""
    deadline = time.monotonic() + timeout
    waiting = [f"{base_url}/readyz", *health_urls]
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up; see its log above")
        try:
            while waiting and httpx.get(waiting[0], timeout=2).status_code == 200:
                waiting.pop(0)
        except httpx.HTTPError:
            pass
        if not waiting:
            return
        time.sleep(0.3)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(settings: Settings, host: str, port: int, interval: float) -> None:
    # `kill` stops the demo as Ctrl-C does: server first, then the embedded servers.
    signal.signal(signal.SIGTERM, _interrupt)
    database_url, redis_url = settings.urls()
    hospitals, credentials = asyncio.run(prepare(settings))
    env = os.environ | {
        "BEDSVC_DATABASE_URL": database_url,
        "BEDSVC_REDIS_URL": redis_url,
        # the server must decrypt the Aplicares secrets with the key they were stored with
        "BEDSVC_DATA_DIR": str(settings.data_dir.resolve()),
    }
    # Every simulated hospital posts from this one address, and bridges send one request per
    # room: the per-address limit meant for one hospital would refuse the demo.
    env.setdefault("BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE", "60000")
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bedsvc", "serve", "--host", host, "--port", str(port)], env=env
    )
    base_url = f"http://{host}:{port}"
    try:
        live_port = settings.live_port or port + 1
        wait_until_ready(base_url, server, 60, f"http://{host}:{live_port}/healthz")
        print(  # noqa: T201
            f"\nbedsvc demo is running: {base_url}  (API schema: {base_url}/schema)\n"
            f"{len(hospitals)} simulated hospitals report every ~{interval:g} s. Ctrl-C stops.\n"
            f"Through the Aplicares bridge: {', '.join(APLICARES_HOSPITALS)}; through the SIRS "
            f"Online bridge: {', '.join(SIRS_HOSPITALS)}; the others: the native API.\n"
            "A key to push yourself: .venv/bin/bedsvc keys issue --hospital 3274011\n"
        )
        attach = bridge_attacher(hospitals, credentials, settings.sirs_prefix)
        asyncio.run(simulate(base_url, hospitals, interval, attach))
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
