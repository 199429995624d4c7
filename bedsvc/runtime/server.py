"""Runs the service: the HTTP workers on granian and the live WebSocket processes, after the
schema is up to date."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import sys
from typing import NamedTuple

from granian import Granian
from granian.constants import Interfaces, Loops

from bedsvc.ops.metrics_folder import metrics_folder
from bedsvc.settings import Settings
from bedsvc.store import migrate


def export_urls(settings: Settings) -> None:
    """Worker processes read their settings from the environment; give them the real URLs."""
    os.environ.update(settings.server_environment())


def raise_open_files_limit(needed: int) -> None:
    """Every live subscriber holds a socket: lift the soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def serve_granian(
    target: str, host: str, port: int, workers: int, live_max_connections: int = 10_000
) -> None:
    """Serves the ASGI app factory `target` ("module:function") as `bedsvc serve` does."""
    # granian holds back requests beyond `backpressure` per worker (default 1024), and an
    # event stream is a request that lasts: leave room for every live connection and as many
    # ordinary requests again as the default.
    backpressure = live_max_connections + 1024
    raise_open_files_limit(backpressure + 1024)
    Granian(
        target,
        factory=True,
        address=host,
        port=port,
        workers=workers,
        interface=Interfaces.ASGI,
        # uvloop rather than asyncio's loop: measured faster for the Litestar routes and as
        # fast for the cached reads (docs/performance.md).
        loop=Loops.uvloop,
        log_access=False,
        workers_kill_timeout=10,
        backpressure=backpressure,
    ).serve()


def start_live_processes(host: str, port: int, count: int) -> list[subprocess.Popen[bytes]]:
    """`count` live processes on one port (SO_REUSEPORT); they read their settings from the
    environment, as the HTTP workers do, and stop by themselves if this process dies."""
    command = [sys.executable, "-m", "bedsvc.live", "--host", host, "--port", str(port)]
    return [subprocess.Popen(command) for _ in range(count)]  # noqa: S603 - our own module


def stop_live_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 5) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)


class CoreSplit(NamedTuple):
    http: frozenset[int]
    live: frozenset[int]


def split_cores(available: set[int], live_workers: int) -> CoreSplit | None:
    """Cores of their own for the live processes (one per live process, at most half of the
    cores), the rest for the HTTP workers; None with a single core or no live process.

    A fan-out is a burst of one socket write per subscriber (about 10 us each, a tenth of a
    second for 10,000): on a core shared with the HTTP workers it waits behind pushes and
    reads, and they behind it."""
    if live_workers < 1 or len(available) < 2:
        return None
    cores = sorted(available)
    count = max(1, min(live_workers, len(cores) // 2))
    return CoreSplit(http=frozenset(cores[:-count]), live=frozenset(cores[-count:]))


def apply_split(split: CoreSplit, live: list[subprocess.Popen[bytes]]) -> None:
    """Moves the live processes to their cores, and this process (and so the HTTP workers it
    starts next) to the others; servers started before (embedded PostgreSQL, Redis) keep all."""
    for process in live:
        with contextlib.suppress(ProcessLookupError):  # it may have failed to start
            os.sched_setaffinity(process.pid, split.live)
    os.sched_setaffinity(0, split.http)


def run_server(
    settings: Settings, host: str, port: int, workers: int, live_workers: int | None = None
) -> None:
    asyncio.run(migrate(settings.urls()[0]))
    export_urls(settings)
    live_port = settings.live.live_port or port + 1
    # The HTTP workers advertise it (GET /api/v1/live).
    os.environ["BEDSVC_LIVE_PORT"] = str(live_port)
    count = settings.live.live_workers if live_workers is None else live_workers
    raise_open_files_limit(count * settings.live.live_max_connections + 1024)
    # The live processes start inside the metrics folder, so one scrape counts them too.
    with metrics_folder(settings.server.data_dir):
        live = start_live_processes(host, live_port, count)
        split = (
            split_cores(os.sched_getaffinity(0), count) if settings.live.live_cpu_affinity else None
        )
        if split is not None:
            apply_split(split, live)
        try:
            serve_granian(
                "bedsvc.asgi:app_from_env", host, port, workers, settings.live.live_max_connections
            )
        finally:
            stop_live_processes(live)
