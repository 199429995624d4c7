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
import msgspec
import structlog

from bedsvc.admin.importer import import_csv
from bedsvc.admin.keys import issue_aplicares_from_cli, issue_from_cli, issue_sirs_from_cli
from bedsvc.bridges.credentials import AplicaresCredential, SirsCredential
from bedsvc.demo.bridges import AplicaresBridge, SirsBridge, class_codes
from bedsvc.demo.simulator import (
    DATA_DIR,
    SimulatedHospital,
    load_wards,
    native_report,
    simulate,
)
from bedsvc.errors import NotFound
from bedsvc.settings import Settings
from bedsvc.staff.cli import add_from_cli, disable_from_cli
from bedsvc.staff.users import IssuedLogin
from bedsvc.store import migrate

log = structlog.get_logger(__name__)

# Hospitals whose simulated SIMRS reports through a bridge; the others use the native API.
APLICARES_HOSPITALS = ("3274012", "3274013", "3274014")
SIRS_HOSPITALS = ("3274015", "3274016", "3274017")
# A hospital without a hospital system: its wards are reported once at start, then only by
# its ward staff on the entry page /rs (with the login the demo prints).
ENTRY_PAGE_HOSPITAL = "3274021"
ENTRY_PAGE_USER = "perawat.demo"

BridgeCredentials = dict[str, AplicaresCredential | SirsCredential]


class HospitalLine(msgspec.Struct, frozen=True):
    """One line of the demo's hospitals.csv (its other columns are not needed here)."""

    code: str
    bpjs_ppk_code: str


def ppk_codes() -> dict[str, str]:
    with (DATA_DIR / "hospitals.csv").open(newline="", encoding="utf-8") as file:
        lines = msgspec.convert(list(csv.DictReader(file)), list[HospitalLine], strict=False)
    return {line.code: line.bpjs_ppk_code for line in lines}


class DemoLogins(msgspec.Struct, frozen=True):
    monitor_key: str
    entry_page: IssuedLogin


async def demo_logins(database_url: str) -> DemoLogins:
    """A monitor key and an entry-page user, new at every start (demo data only)."""
    monitor = await issue_from_cli(database_url, None, "monitor", "demo")
    with contextlib.suppress(NotFound):  # the first start: no user yet
        await disable_from_cli(database_url, ENTRY_PAGE_USER)
    login = await add_from_cli(database_url, ENTRY_PAGE_HOSPITAL, ENTRY_PAGE_USER)
    return DemoLogins(monitor_key=monitor.key, entry_page=login)


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


async def report_entry_hospital_once(base_url: str, hospital: SimulatedHospital) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post(
            f"/api/v1/hospitals/{hospital.code}/occupancy",
            json=native_report(hospital.wards),
            headers={"Authorization": f"Bearer {hospital.key}"},
        )
        response.raise_for_status()


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


def banner(base_url: str, simulated: int, interval: float, logins: DemoLogins) -> str:
    entry = logins.entry_page
    return (
        f"\nbedsvc demo is running: {base_url}  (API schema: {base_url}/schema)\n"
        f"{simulated} simulated hospitals report every ~{interval:g} s. Ctrl-C stops.\n"
        f"Through the Aplicares bridge: {', '.join(APLICARES_HOSPITALS)}; through the SIRS "
        f"Online bridge: {', '.join(SIRS_HOSPITALS)}; the others: the native API.\n"
        f"\n  citizens:         {base_url}/\n"
        f"  health office:    {base_url}/dashboard   monitor key: {logins.monitor_key}\n"
        f"  ward staff:       {base_url}/rs   username: {entry.username}   "
        f"password: {entry.password}   (hospital {entry.hospital_code}, no hospital system)\n"
        f"  lobby board:      {base_url}/papan/{entry.hospital_code}\n"
        "  a key to push yourself: .venv/bin/bedsvc keys issue --hospital 3274011\n"
        "\nDemo logins and data only: do not expose the demo on a public network.\n"
    )


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
    database_url, _ = settings.urls()
    logins = asyncio.run(demo_logins(database_url))
    [entry_hospital] = [h for h in hospitals if h.code == ENTRY_PAGE_HOSPITAL]
    simulated = [h for h in hospitals if h.code != ENTRY_PAGE_HOSPITAL]
    env = (
        os.environ
        | settings.server_environment()
        | {
            # the server must decrypt the Aplicares secrets with the key they were stored with
            "BEDSVC_DATA_DIR": str(settings.server.data_dir.resolve()),
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
        live_port = settings.live.live_port or port + 1
        wait_until_ready(base_url, server, 60, f"http://{host}:{live_port}/healthz")
        asyncio.run(report_entry_hospital_once(base_url, entry_hospital))
        print(banner(base_url, len(simulated), interval, logins))  # noqa: T201
        attach = bridge_attacher(simulated, credentials, settings.bridges.sirs_prefix)
        # Until a signal: asyncio.run then cancels the simulated hospitals and waits for them.
        asyncio.run(simulate(base_url, simulated, interval, attach))
    except KeyboardInterrupt:
        log.info("stopping: simulated hospitals stopped; the server, then the embedded servers")
    finally:
        stop_server(server)
