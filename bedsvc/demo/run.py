"""`bedsvc demo`: the service with the Kota Cirebon demo region and live simulated hospitals."""

from __future__ import annotations

import asyncio
import contextlib
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
            credentials[code] = await issue_sirs_from_cli(
                settings, database_url, code, "demo simulator"
            )
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


# How long the server may take to stop (in-flight requests, then its workers' shutdown)
# before it is killed: the whole demo must be down within five seconds of Ctrl-C.
SERVER_STOP_SECONDS = 3.0


class StopSignals:
    """Ctrl-C and SIGTERM stop the demo in order: the simulated hospitals first (so that none
    posts to a server on its way down), then the server, then the embedded PostgreSQL and
    Redis (by the caller's `EmbeddedServers`).

    The first signal unwinds whatever runs, as Ctrl-C does. Later ones cannot interrupt the
    stop (an interrupted stop would leave the embedded PostgreSQL running); they only hurry
    it: the server is killed instead of waited for.
    """

    def __init__(self) -> None:
        self.received = 0
        self.server: subprocess.Popen[bytes] | None = None

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.received += 1
        if self.received == 1:
            raise KeyboardInterrupt
        log.warning("already stopping; the server is killed, the embedded servers stop next")
        if self.server is not None:
            kill_group(self.server)


def kill_group(server: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=SERVER_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            log.warning("the server did not stop in time; killing it")
    kill_group(server)  # the server and any worker it left behind
    server.wait()


def run_demo(
    settings: Settings, host: str, port: int, interval: float, signals: StopSignals
) -> None:
    hospitals, credentials = asyncio.run(prepare(settings))
    env = (
        os.environ
        | settings.server_environment()
        | {
            # the server must decrypt the Aplicares secrets with the key they were stored with
            "BEDSVC_DATA_DIR": str(settings.data_dir.resolve()),
        }
    )
    # Every simulated hospital posts from this one address, and bridges send one request per
    # room: the per-address limit meant for one hospital would refuse the demo.
    env.setdefault("BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE", "60000")
    signals.server = server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bedsvc", "serve", "--host", host, "--port", str(port)],
        env=env,
        # Out of the terminal's process group: Ctrl-C reaches the server through us, after
        # the simulated hospitals have stopped, not at the same time.
        start_new_session=True,
    )
    base_url = f"http://{host}:{port}"
    try:
        wait_until_ready(base_url, server)
        print(  # noqa: T201
            f"\nbedsvc demo is running: {base_url}  (API schema: {base_url}/schema)\n"
            f"{len(hospitals)} simulated hospitals report every ~{interval:g} s. Ctrl-C stops.\n"
            f"Through the Aplicares bridge: {', '.join(APLICARES_HOSPITALS)}; through the SIRS "
            f"Online bridge: {', '.join(SIRS_HOSPITALS)}; the others: the native API.\n"
            "A key to push yourself: .venv/bin/bedsvc keys issue --hospital 3274011\n"
        )
        attach = bridge_attacher(hospitals, credentials, settings.sirs_prefix)
        # Until a signal: asyncio.run then cancels the simulated hospitals and waits for them.
        asyncio.run(simulate(base_url, hospitals, interval, attach))
    except KeyboardInterrupt:
        log.info("stopping: simulated hospitals stopped; the server, then the embedded servers")
    finally:
        stop_server(server)
