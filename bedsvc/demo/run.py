"""`bedsvc demo`: the service with the Kota Cirebon demo region and live simulated hospitals."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time

import httpx
import structlog

from bedsvc.admin.importer import import_csv
from bedsvc.admin.keys import issue_from_cli
from bedsvc.demo.simulator import DATA_DIR, SimulatedHospital, load_wards, simulate
from bedsvc.settings import Settings
from bedsvc.store import migrate

log = structlog.get_logger(__name__)


async def prepare(database_url: str) -> list[SimulatedHospital]:
    """Schema, the demo hospitals, and a fresh key for each simulated hospital system."""
    await migrate(database_url)
    report = await import_csv(database_url, DATA_DIR / "hospitals.csv")
    if report.errors:
        raise RuntimeError(f"demo data rejected: {report.errors}")
    wards = load_wards(random.Random())  # noqa: S311 - simulated occupancy
    hospitals = []
    for code, hospital_wards in sorted(wards.items()):
        issued = await issue_from_cli(database_url, code, None, "demo simulator")
        hospitals.append(SimulatedHospital(code=code, key=issued.key, wards=hospital_wards))
    return hospitals


def wait_until_ready(base_url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up; see its log above")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server was not ready within {timeout:.0f} s")


def run_demo(settings: Settings, host: str, port: int, interval: float) -> None:
    database_url, redis_url = settings.urls()
    hospitals = asyncio.run(prepare(database_url))
    env = os.environ | {"BEDSVC_DATABASE_URL": database_url, "BEDSVC_REDIS_URL": redis_url}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bedsvc", "serve", "--host", host, "--port", str(port)], env=env
    )
    base_url = f"http://{host}:{port}"
    try:
        wait_until_ready(base_url, server)
        print(f"\nbedsvc demo is running: {base_url}  (API schema: {base_url}/schema)")  # noqa: T201
        print(f"{len(hospitals)} simulated hospitals report every ~{interval:g} s. Ctrl-C stops.\n")  # noqa: T201
        asyncio.run(simulate(base_url, hospitals, interval))
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
