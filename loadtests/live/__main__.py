"""Fan-out load test: N live subscribers over several client processes, reports pushed through
the real ingest API at a fixed rate, latency measured from each report's acknowledgement to
its arrival at every subscriber; the bare `websockets` broadcast as the baseline, same run.

    python -m loadtests.live --subscribers 10000 --rate 2 --duration 30 --baseline --name ws-10k

The server runs as `bedsvc serve` (one granian worker and `--live-workers` live processes)
pinned to one core; the subscriber processes and this runner are pinned to the other.
PostgreSQL and Redis are the machine's (`--database-url`, `--redis-url`); the run uses a
database and key prefix of its own and drops them at the end. Results go to
loadtests/results/live-NAME.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
from websockets.version import version as websockets_version

from loadtests.live.clients import collect, start_clients, wait_ready
from loadtests.live.server import ServerUnderTest
from loadtests.live.setup import create_database, drop_database, register_hospitals
from loadtests.live.stats import Ack, Delivery, delivery, ms, percentile
from loadtests.portable import make_portable

RESULTS = Path(__file__).resolve().parent.parent / "results"
CLASSES = [("MAWAR", "KL3", 30), ("MELATI", "KL2", 20), ("ICU", "ICU", 8)]


class Memory(msgspec.Struct):
    rss_before_bytes: int
    rss_connected_bytes: int
    rss_after_bytes: int
    per_connection_bytes: int


class Baseline(msgspec.Struct):
    """The bare `websockets` server: one ~1 KB frame to every subscriber, ten times."""

    subscribers_connected: int
    broadcast_ms_median: float
    broadcast_ms_max: float
    cpu_ms_median: float
    delivery: Delivery
    per_connection_bytes: int


class Run(msgspec.Struct):
    name: str
    command: str
    started_at: str
    machine: str
    transport: str
    live_workers: int
    subscribers_requested: int
    subscribers_connected: int
    client_processes: int
    connect_seconds: float
    rate_per_second: float
    duration_seconds: float
    reports_acknowledged: int
    push_errors: int
    pushes_overtaken: int
    ingest_p99_ms: float
    ingest_alone_p99_ms: float | None
    server_cpu_percent: float
    memory: Memory
    delivery: Delivery
    baseline: Baseline | None
    note: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def report_body(n: int) -> dict[str, object]:
    wards = [
        {
            "ward_code": code,
            "bed_class": bed_class,
            "capacity": capacity,
            "available": (n * 7 + i) % (capacity + 1),
        }
        for i, (code, bed_class, capacity) in enumerate(CLASSES)
    ]
    return {"reported_at": datetime.now(UTC).isoformat(), "wards": wards}


async def push_reports(
    base: str, keys: dict[str, str], rate: float, duration: float
) -> tuple[list[Ack], int, int]:
    """Open loop: report n is sent at start + n / rate whatever the earlier ones are doing."""
    codes = sorted(keys)
    acks: list[Ack] = []
    errors = stale = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def push(n: int) -> None:
            nonlocal errors, stale
            code = codes[n % len(codes)]
            sent = time.monotonic()
            response = await http.post(
                f"/api/v1/hospitals/{code}/occupancy",
                json=report_body(n),
                headers={"Authorization": f"Bearer {keys[code]}"},
            )
            at = time.monotonic()
            if response.status_code != 200:
                errors += 1
                if errors <= 3:
                    print(f"push refused: {response.status_code} {response.text[:200]}", flush=True)
                return
            if not response.json()["applied"]:
                # Overtaken by the hospital's next report (both in flight at once): no change.
                stale += 1
                return
            acks.append(Ack(version=response.json()["version"], hospital=code, at=at, sent=sent))

        start = time.monotonic()
        tasks = []
        for n in range(int(rate * duration)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(push(n)))
        await asyncio.gather(*tasks)
    acks.sort(key=lambda ack: ack.version)
    return acks, errors, stale


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4, help="subscriber processes")
    parser.add_argument("--rate", type=float, default=10.0, help="reports per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of pushing")
    parser.add_argument("--hospitals", type=int, default=50)
    parser.add_argument(
        "--transport", choices=["ws", "sse"], default="ws", help="WebSocket or Server-Sent Events"
    )
    parser.add_argument("--live-workers", type=int, default=1, help="live processes")
    parser.add_argument(
        "--baseline", action="store_true", help="first, the bare websockets broadcast"
    )
    parser.add_argument(
        "--compare-ingest",
        action="store_true",
        help="first, the same pushes without subscribers (the ingest's own p99)",
    )
    parser.add_argument("--name", default=None, help="results file name (default from sizes)")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy the worker while pushing")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BEDSVC_LOAD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BEDSVC_LOAD_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    return parser.parse_args()


def main() -> None:
    # Stopped from outside: still stop the server and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    args = parse_args()
    name = args.name or (
        f"{args.transport}-{args.subscribers}-subscribers-{args.live_workers}-live-"
        f"{args.rate:g}-per-s"
    )
    os.sched_setaffinity(0, {args.client_cpu})
    prefix = f"bedsvc-live-load-{secrets.token_hex(4)}"
    database = asyncio.run(create_database(args.database_url))
    try:
        keys = asyncio.run(register_hospitals(database, args.hospitals))
        run = measure(args, name, database, prefix, keys)
    finally:
        asyncio.run(drop_database(args.database_url, database, args.redis_url, prefix))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"live-{name}.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(run)) + b"\n"
    )
    (RESULTS / f"live-{name}.md").write_text(markdown(run))
    print(markdown(run))


def measure_baseline(args: argparse.Namespace, folder: Path) -> Baseline:
    port = free_port()
    server = ServerUnderTest(
        port, args.server_cpu, {}, command=["-m", "loadtests.live.bare", str(port)]
    )
    assert server.process.stdin is not None
    assert server.process.stdout is not None
    try:
        assert server.process.stdout.readline().strip() == "ready"
        rss_before = server.rss()
        clients = start_clients(
            f"http://127.0.0.1:{port}/", args.subscribers, args.clients, args.client_cpu, folder
        )
        connected, _ = wait_ready(clients)
        time.sleep(2)
        per_connection = (server.rss() - rss_before) // max(1, connected)
        broadcasts = []
        for _ in range(10):
            server.process.stdin.write("go\n")
            server.process.stdin.flush()
            broadcasts.append(msgspec.json.decode(server.process.stdout.readline()))
            time.sleep(1)
        received = collect(clients)
    finally:
        server.stop()
    acks = [
        Ack(version=b["version"], hospital="bare", at=b["at"], sent=b["at"]) for b in broadcasts
    ]
    seconds = sorted(b["seconds"] for b in broadcasts)
    return Baseline(
        subscribers_connected=connected,
        broadcast_ms_median=ms(percentile(seconds, 0.5)),
        broadcast_ms_max=ms(seconds[-1]),
        cpu_ms_median=ms(percentile(sorted(b["cpu_seconds"] for b in broadcasts), 0.5)),
        delivery=delivery(acks, received),
        per_connection_bytes=per_connection,
    )


def ingest_p99(acks: list[Ack]) -> float:
    return ms(percentile(sorted(ack.at - ack.sent for ack in acks), 0.99))


def measure(
    args: argparse.Namespace, name: str, database: str, prefix: str, keys: dict[str, str]
) -> Run:
    baseline = None
    if args.baseline and args.transport == "ws":
        with tempfile.TemporaryDirectory(prefix="bedsvc-bare-") as folder:
            baseline = measure_baseline(args, Path(folder))
        print(f"baseline: {baseline}", flush=True)
    port, live_port = free_port(), free_port()
    allowed = str(args.subscribers + 100)
    env = {
        "BEDSVC_DATABASE_URL": database,
        "BEDSVC_REDIS_URL": args.redis_url,
        "BEDSVC_REDIS_PREFIX": prefix,
        "BEDSVC_LIVE_PORT": str(live_port),
        "BEDSVC_LIVE_WORKERS": str(args.live_workers),
        "BEDSVC_LIVE_MAX_CONNECTIONS": allowed,
        # Every subscriber comes from 127.0.0.1.
        "BEDSVC_LIVE_MAX_CONNECTIONS_PER_ADDRESS": allowed,
        "BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE": "1000000",
        "BEDSVC_LOG_LEVEL": "WARNING",
        # The subscribers find frames in the byte stream and parse no WebSocket control frame,
        # so they answer no ping: with the default keep-alive (a ping after 20 s, the
        # connection closed 30 s later without a pong) a run over 50 s would end them all.
        "BEDSVC_LIVE_PING_SECONDS": "3600",
    }
    server = ServerUnderTest(port, args.server_cpu, env)
    profiler = None
    try:
        server.wait_ready()
        base = f"http://127.0.0.1:{port}"
        if args.transport == "ws":
            url = f"http://127.0.0.1:{live_port}/api/v1/live"
        else:
            url = f"{base}/api/v1/live/events"
        asyncio.run(push_reports(base, keys, rate=20, duration=1))  # warm every code path
        alone = None
        if args.compare_ingest:
            alone_acks, _, _ = asyncio.run(push_reports(base, keys, args.rate, args.duration))
            alone = ingest_p99(alone_acks)
            print(f"ingest alone: p99 {alone} ms", flush=True)
        time.sleep(1)
        rss_before = server.rss()
        with tempfile.TemporaryDirectory(prefix="bedsvc-live-") as folder:
            started = time.monotonic()
            clients = start_clients(
                url, args.subscribers, args.clients, args.client_cpu, Path(folder)
            )
            connected, failed = wait_ready(clients)
            connect_seconds = time.monotonic() - started
            print(
                f"{connected} subscribers connected in {connect_seconds:.1f} s ({failed} failed)",
                flush=True,
            )
            time.sleep(2)
            rss_connected = server.rss()
            if args.profile:
                profiler = subprocess.Popen(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "-p",
                        str(server.worker.pid),
                        "-d",
                        str(int(args.duration) + 2),
                        "-f",
                        "speedscope",
                        "-o",
                        str(RESULTS / f"live-{name}.speedscope.json"),
                    ],
                    stdout=subprocess.DEVNULL,
                )
            # The pusher shares its core with the subscribers: ahead of them, so that its
            # timestamps of requests and acknowledgements are not late by their backlog.
            with contextlib.suppress(PermissionError):
                os.setpriority(os.PRIO_PROCESS, 0, -10)
            cpu_before, pushing_since = server.cpu_seconds(), time.monotonic()
            acks, errors, stale = asyncio.run(push_reports(base, keys, args.rate, args.duration))
            time.sleep(3)  # the last report's fan-out
            cpu_used = server.cpu_seconds() - cpu_before
            cpu_percent = 100 * cpu_used / (time.monotonic() - pushing_since)
            rss_after = server.rss()
            received = collect(clients)
        if profiler is not None:
            profiler.wait()
            make_portable(RESULTS / f"live-{name}.speedscope.json")
    finally:
        server.stop()
    return Run(
        name=name,
        command="python -m loadtests.live " + " ".join(sys.argv[1:]),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=(
            f"{os.cpu_count()} cores, Python {platform.python_version()}, "
            f"websockets {websockets_version}"
        ),
        transport=args.transport,
        live_workers=args.live_workers,
        subscribers_requested=args.subscribers,
        subscribers_connected=connected,
        client_processes=args.clients,
        connect_seconds=round(connect_seconds, 1),
        rate_per_second=args.rate,
        duration_seconds=args.duration,
        reports_acknowledged=len(acks),
        push_errors=errors,
        pushes_overtaken=stale,
        ingest_p99_ms=ingest_p99(acks),
        ingest_alone_p99_ms=alone,
        server_cpu_percent=round(cpu_percent, 1),
        memory=Memory(
            rss_before_bytes=rss_before,
            rss_connected_bytes=rss_connected,
            rss_after_bytes=rss_after,
            per_connection_bytes=(rss_connected - rss_before) // max(1, connected),
        ),
        delivery=delivery(acks, received),
        baseline=baseline,
        note="2-core machine shared with other work: numbers are noisy.",
    )


def markdown(run: Run) -> str:
    d, m = run.delivery, run.memory
    mib = 1 << 20
    transport = "WebSocket" if run.transport == "ws" else "Server-Sent Events"
    rows = [
        ("transport", f"{transport}, {run.live_workers} live process(es)"),
        (
            "subscribers connected",
            f"{run.subscribers_connected} of {run.subscribers_requested} "
            f"({run.client_processes} client processes, {run.connect_seconds} s)",
        ),
        (
            "reports",
            f"{run.reports_acknowledged} acknowledged at {run.rate_per_second:g}/s "
            f"for {run.duration_seconds:g} s ({run.push_errors} errors, "
            f"{run.pushes_overtaken} overtaken by the hospital's next report)",
        ),
        (
            "ingest p99 (request to acknowledgement)",
            f"{run.ingest_p99_ms} ms"
            + (
                ""
                if run.ingest_alone_p99_ms is None
                else f" ({run.ingest_alone_p99_ms} ms without subscribers)"
            ),
        ),
        ("deliveries", f"{d.delivered} of {d.expected} ({d.coalesced} in a later frame)"),
        (
            "latency from ack p50 / p90 / p99 / max",
            f"{d.p50_ms} / {d.p90_ms} / {d.p99_ms} / {d.max_ms} ms",
        ),
        (
            "latency from request p50 / p99 / max",
            f"{d.from_request_p50_ms} / {d.from_request_p99_ms} / {d.from_request_max_ms} ms",
        ),
        ("lost / out of order", f"{d.lost} / {d.out_of_order}"),
        (
            "covered by a later snapshot (process reloads)",
            f"{d.resynced} ({d.later_snapshots} snapshots after the first)",
        ),
        ("closed by the server", str(d.closed_by_server)),
        (
            "server memory per connection",
            f"{m.per_connection_bytes / 1024:.1f} KiB (process group RSS "
            f"{m.rss_before_bytes // mib} → {m.rss_connected_bytes // mib} MiB connected, "
            f"{m.rss_after_bytes // mib} MiB after)",
        ),
        ("server CPU while pushing", f"{run.server_cpu_percent} % of its core"),
    ]
    b = run.baseline
    if b is not None:
        rows += [
            (
                "baseline: bare websockets broadcast, median / max",
                f"{b.broadcast_ms_median} / {b.broadcast_ms_max} ms to hand one frame to "
                f"{b.subscribers_connected} connections ({b.cpu_ms_median} ms CPU)",
            ),
            (
                "baseline: arrival p50 / p99 / max from broadcast start",
                f"{b.delivery.p50_ms} / {b.delivery.p99_ms} / {b.delivery.max_ms} ms "
                f"({b.delivery.lost} lost)",
            ),
            (
                "bedsvc p99 from ack / baseline p99 from broadcast",
                f"{d.p99_ms / b.delivery.p99_ms:.2f}" if b.delivery.p99_ms > 0 else "-",
            ),
            ("baseline: memory per connection", f"{b.per_connection_bytes / 1024:.1f} KiB"),
        ]
    lines = [
        f"# Live fan-out: {run.name}",
        "",
        f"`{run.command}` — {run.started_at}, {run.machine}",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows),
        "",
        run.note,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
