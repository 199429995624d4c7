"""National scale on one HTTP worker and one live process: 3,039 hospitals in 514 regions.

    python -m loadtests.national                 # the whole country, about 6 minutes
    python -m loadtests.national --hospitals 60 --regions 12 --subscribers 24 \\
        --duration 3 --reads-duration 2 --warmup 1 --name national-smoke   # seconds

`bedsvc serve --workers 1 --live-workers 1` runs pinned to one core (`--server-cpu`), wrk, the
subscriber processes and this runner (the hospitals' pushes) to the other (`--client-cpu`).
In one run, on the same cores:

1. a bare Litestar "hello" handler (`loadtests/baselines.py`) under wrk: the baseline;
2. region reads (`GET /api/v1/availability?region=R`, every region in turn) under wrk, quiet,
   then while the country reports (`--read-rate`, 100 reports/s, into the same worker);
3. the national summary (`GET /api/v1/monitor/summary`, no region) timed one at a time, quiet
   and while the country reports;
4. `--subscribers` live WebSocket subscribers filtered by region (every region in turn), then
   reports at `--rate` for `--duration` seconds: the time from each report's acknowledgement
   to its arrival at every subscriber of the hospital's region, and per region;
5. the memory of the HTTP worker and of the live process.

Results: loadtests/results/NAME.json and NAME.md (`--name`, default `national`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import psutil

from bedsvc.access.keys import issue_key
from bedsvc.store import connect_pool, load_queries
from loadtests.backing import Backing, prepared, servers
from loadtests.dataset import NATIONAL_HOSPITALS, NATIONAL_REGIONS, Hospital, national
from loadtests.http import free_port, machine
from loadtests.live.client import Received
from loadtests.live.clients import collect, start_filtered_clients, wait_ready
from loadtests.live.server import ServerUnderTest
from loadtests.live.stats import Ack, Delivery, delivery_by_filter, ms, percentile
from loadtests.procs import start
from loadtests.pushers import push_report, pushing
from loadtests.wrk import REPORT_SCRIPT, Load, Result, require_wrk, run

RESULTS = Path(__file__).resolve().parent.parent / "results"
SUMMARY = "/api/v1/monitor/summary"
MIB = 1 << 20


class Reads(msgspec.Struct):
    requests_per_second: float
    x_hello: float | None
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_us_per_request: float
    response_bytes: int  # mean over the paths read
    pushes_per_second: float | None = None
    push_p99_ms: float | None = None
    push_failures: int | None = None


class Timing(msgspec.Struct):
    requests: int
    median_ms: float
    max_ms: float
    response_bytes: int


class Memory(msgspec.Struct):
    """Resident memory in MiB: the HTTP worker, the live process, the whole server."""

    worker_started_mib: float
    worker_after_mib: float
    live_started_mib: float
    live_after_mib: float
    server_after_mib: float


class RegionTail(msgspec.Struct):
    region: str
    subscribers: int
    reports: int
    p99_ms: float


class LiveTail(msgspec.Struct):
    subscribers_requested: int
    subscribers_connected: int
    regions: int
    rate_per_second: float
    duration_seconds: float
    reports_acknowledged: int
    push_errors: int
    pushes_overtaken: int
    server_cpu_percent: float
    delivery: Delivery
    region_p99_median_ms: float
    region_p99_max_ms: float
    worst_regions: list[RegionTail]


class Outcome(msgspec.Struct):
    name: str
    command: str
    started_at: str
    machine: dict[str, object]
    load_average_before: list[float]
    load_average_after: list[float]
    hospitals: int
    regions: int
    wards: int
    largest_region_hospitals: int
    hello: Reads
    region_reads: Reads
    region_reads_reporting: Reads
    summary: Timing
    summary_reporting: Timing
    memory: Memory
    live: LiveTail


def region_script(regions: list[str], folder: Path) -> Path:
    """report.lua with a `request` that reads every region in turn."""
    paths = ",\n".join(f'  "/api/v1/availability?region={region}"' for region in regions)
    script = folder / "regions.lua"
    script.write_text(
        f"local paths = {{\n{paths}\n}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  return wrk.format(nil, paths[n % #paths + 1])\n"
        "end\n" + REPORT_SCRIPT.read_text()
    )
    return script


def reads(result: Result, hello: float | None, size: int) -> Reads:
    data = result.as_dict()
    rps = data["requests_per_second"]
    return Reads(
        requests_per_second=rps,
        x_hello=None if not hello else round(rps / hello, 2),
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        errors=data["errors"],
        server_cpu_us_per_request=data["server_cpu_us_per_request"],
        response_bytes=size,
    )


def mean_size(base_url: str, regions: list[str]) -> int:
    sizes = []
    with httpx.Client(base_url=base_url, headers={"Accept-Encoding": "identity"}) as http:
        for region in regions:
            response = http.get("/api/v1/availability", params={"region": region})
            response.raise_for_status()
            sizes.append(len(response.content))
    return round(statistics.mean(sizes))


async def monitor_key(database_url: str) -> str:
    pool = await connect_pool(database_url, 1, 1)
    try:
        async with pool.acquire() as conn:
            return (await issue_key(conn, load_queries(), "monitor", None)).key
    finally:
        await pool.close()


async def time_summary(base_url: str, key: str, count: int) -> Timing:
    """The national summary, one request at a time (each one the health office's page)."""
    seconds, size = [], 0
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as http:
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get(SUMMARY)
            seconds.append(time.perf_counter() - started)
            response.raise_for_status()
            size = len(response.content)
    seconds.sort()
    return Timing(
        requests=count,
        median_ms=ms(statistics.median(seconds)),
        max_ms=ms(seconds[-1]),
        response_bytes=size,
    )


async def summary_while_reporting(
    backing: Backing, base_url: str, key: str, args: argparse.Namespace
) -> Timing:
    async with pushing(base_url, backing.hospitals, backing.keys, args.read_rate):
        await asyncio.sleep(1)
        return await time_summary(base_url, key, args.summaries)


async def push_with_acks(
    base_url: str, hospitals: list[Hospital], keys: dict[str, str], rate: float, duration: float
) -> tuple[list[Ack], int, int]:
    """Open loop at `rate`, the hospitals in a shuffled order (every region reports); each
    applied report's hospital version and acknowledgement time."""
    order = list(hospitals)
    random.Random(17).shuffle(order)
    rng = random.Random(19)
    acks: list[Ack] = []
    errors = stale = 0
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:

        async def push(n: int) -> None:
            nonlocal errors, stale
            hospital = order[n % len(order)]
            sent = time.monotonic()
            try:
                response = await push_report(http, hospital, keys[hospital.code], rng)
            except httpx.HTTPError:
                errors += 1
                return
            at = time.monotonic()
            if response.status_code != 200:
                errors += 1
                return
            body = response.json()
            if not body["applied"]:
                stale += 1  # overtaken by the hospital's next report: no change
                return
            acks.append(Ack(version=body["version"], hospital=hospital.code, at=at, sent=sent))

        started = time.monotonic()
        tasks = []
        for n in range(int(rate * duration)):
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(push(n)))
        await asyncio.gather(*tasks)
    return acks, errors, stale


def region_of_target(result: Received) -> str:
    return parse_qs(urlsplit(result.target).query)["region"][0]


def live_tail(
    args: argparse.Namespace,
    received: list[Received],
    acks: list[Ack],
    backing: Backing,
    counts: tuple[int, int, int, float],
) -> LiveTail:
    connected, errors, stale, cpu_percent = counts
    region_of = {h.code: h.info.region_code for h in backing.hospitals}
    acks_in: dict[str, list[Ack]] = {}
    for ack in acks:
        acks_in.setdefault(region_of[ack.hospital], []).append(ack)
    subscribers_in: dict[str, list[Received]] = {}
    for result in received:
        subscribers_in.setdefault(region_of_target(result), []).append(result)
    groups = {region: (acks_in.get(region, []), subs) for region, subs in subscribers_in.items()}
    tails = [
        RegionTail(region, len(subs), len(reports), delivery_by_filter([(reports, subs)]).p99_ms)
        for region, (reports, subs) in groups.items()
        if reports
    ]
    p99s = sorted(tail.p99_ms for tail in tails)
    return LiveTail(
        subscribers_requested=args.subscribers,
        subscribers_connected=connected,
        regions=len(subscribers_in),
        rate_per_second=args.rate,
        duration_seconds=args.duration,
        reports_acknowledged=len(acks),
        push_errors=errors,
        pushes_overtaken=stale,
        server_cpu_percent=cpu_percent,
        delivery=delivery_by_filter(list(groups.values())),
        region_p99_median_ms=percentile(p99s, 0.5) if p99s else float("nan"),
        region_p99_max_ms=p99s[-1] if p99s else float("nan"),
        worst_regions=sorted(tails, key=lambda tail: -tail.p99_ms)[:5],
    )


def measure_live(
    args: argparse.Namespace,
    server: ServerUnderTest,
    live_port: int,
    backing: Backing,
    regions: list[str],
) -> LiveTail:
    urls = [
        f"http://127.0.0.1:{live_port}/api/v1/live?region={regions[n % len(regions)]}"
        for n in range(args.subscribers)
    ]
    with tempfile.TemporaryDirectory(prefix="bedsvc-national-") as folder:
        clients = start_filtered_clients(urls, args.clients, args.client_cpu, Path(folder))
        try:
            connected, failed = wait_ready(clients)
            print(f"  {connected} region subscribers connected ({failed} failed)", flush=True)
            time.sleep(2)
            cpu_before, since = server.cpu_seconds(), time.monotonic()
            acks, errors, stale = asyncio.run(
                push_with_acks(
                    server.base_url, backing.hospitals, backing.keys, args.rate, args.duration
                )
            )
            time.sleep(3)  # the last reports' fan-out
            cpu_percent = round(
                100 * (server.cpu_seconds() - cpu_before) / (time.monotonic() - since), 1
            )
        finally:
            received = collect(clients)
    return live_tail(args, received, acks, backing, (connected, errors, stale, cpu_percent))


def rss_mib(processes: list[psutil.Process]) -> float:
    total = 0
    for process in processes:
        with suppress(psutil.Error):
            total += process.memory_info().rss
    return round(total / MIB, 1)


def worker_and_live(server: ServerUnderTest) -> tuple[float, float]:
    """The HTTP worker (the largest process that is not a live process), the live process."""
    live = server.live_processes()
    others = [p for p in server.processes() if p not in live]
    worker = max(others, key=lambda p: p.memory_info().rss)
    return rss_mib([worker]), rss_mib(live)


def bedsvc_env(backing: Backing, live_port: int, subscribers: int) -> dict[str, str]:
    allowed = str(subscribers + 100)
    return backing.env() | {
        "BEDSVC_LIVE_PORT": str(live_port),
        "BEDSVC_LIVE_MAX_CONNECTIONS": allowed,
        "BEDSVC_LIVE_MAX_CONNECTIONS_PER_ADDRESS": allowed,  # every subscriber is 127.0.0.1
        # The subscribers answer no ping (see loadtests/live/__main__.py).
        "BEDSVC_LIVE_PING_SECONDS": "3600",
    }


def measure(args: argparse.Namespace, backing: Backing, folder: Path) -> Outcome:
    load = Load(
        connections=args.connections,
        duration=args.reads_duration,
        warmup=args.warmup,
        client_core=args.client_cpu,
    )
    regions = sorted({h.info.region_code for h in backing.hospitals})
    print("hello baseline", flush=True)
    hello_server = start(
        "hello",
        "loadtests.baselines:hello_app",
        server="granian",
        port=free_port(),
        env={},
        ready_path="/hello",
        core=args.server_cpu,
        log_dir=folder,
    )
    try:
        hello = reads(run(hello_server, "/hello", {}, load, 5), None, 5)
    finally:
        hello_server.stop()
    print(f"  {hello.requests_per_second:,.0f} req/s", flush=True)

    port, live_port = free_port(), free_port()
    command = ["-m", "bedsvc", "serve", "--port", str(port), "--workers", "1"]
    server = ServerUnderTest(
        port,
        args.server_cpu,
        bedsvc_env(backing, live_port, args.subscribers),
        command=[*command, "--live-workers", "1"],
    )
    try:
        server.wait_ready(timeout=300)
        worker_started, live_started = worker_and_live(server)
        key = asyncio.run(monitor_key(backing.database_url))
        size = mean_size(server.base_url, regions)
        script = region_script(regions, folder)
        headers = {"Accept-Encoding": "identity"}
        print("region reads", flush=True)
        quiet = reads(
            run(server, "/api/v1/availability", headers, load, size, script),
            hello.requests_per_second,
            size,
        )
        print(f"  {quiet.requests_per_second:,.0f} req/s, p99 {quiet.p99_ms} ms", flush=True)
        print(f"region reads while {args.read_rate:g} reports/s arrive", flush=True)
        busy = asyncio.run(
            reads_while_reporting(server, backing, headers, load, size, script, args)
        )
        busy.x_hello = round(busy.requests_per_second / hello.requests_per_second, 2)
        print(f"  {busy.requests_per_second:,.0f} req/s, p99 {busy.p99_ms} ms", flush=True)
        print("national summary", flush=True)
        summary = asyncio.run(time_summary(server.base_url, key, args.summaries))
        summary_busy = asyncio.run(summary_while_reporting(backing, server.base_url, key, args))
        print(f"  median {summary.median_ms} ms ({summary_busy.median_ms} ms reporting)")
        print(f"live subscribers by region, {args.rate:g} reports/s", flush=True)
        live = measure_live(args, server, live_port, backing, regions)
        worker_after, live_after = worker_and_live(server)
        server_after = rss_mib(server.processes())
    finally:
        server.stop()
    wards = sum(len(h.wards) for h in backing.hospitals)
    per_region = [sum(h.info.region_code == r for h in backing.hospitals) for r in regions]
    return Outcome(
        name=args.name,
        command="python -m loadtests.national " + " ".join(sys.argv[1:]),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=machine(),
        load_average_before=[],
        load_average_after=[],
        hospitals=len(backing.hospitals),
        regions=len(regions),
        wards=wards,
        largest_region_hospitals=max(per_region),
        hello=hello,
        region_reads=quiet,
        region_reads_reporting=busy,
        summary=summary,
        summary_reporting=summary_busy,
        memory=Memory(
            worker_started_mib=worker_started,
            worker_after_mib=worker_after,
            live_started_mib=live_started,
            live_after_mib=live_after,
            server_after_mib=server_after,
        ),
        live=live,
    )


async def reads_while_reporting(
    server: ServerUnderTest,
    backing: Backing,
    headers: dict[str, str],
    load: Load,
    size: int,
    script: Path,
    args: argparse.Namespace,
) -> Reads:
    async with pushing(server.base_url, backing.hospitals, backing.keys, args.read_rate) as stats:
        result = await asyncio.to_thread(
            run, server, "/api/v1/availability", headers, load, size, script
        )
    measured = reads(result, None, size)
    pushed = stats.summary(load.duration + load.warmup)
    measured.pushes_per_second = pushed["pushes_per_second"]
    measured.push_p99_ms = pushed["push_p99_ms"]
    measured.push_failures = pushed["failed"]
    return measured


def markdown(outcome: Outcome) -> str:
    hello, quiet, busy = outcome.hello, outcome.region_reads, outcome.region_reads_reporting
    live, d, m = outcome.live, outcome.live.delivery, outcome.memory
    worst = ", ".join(
        f"{t.region} {t.p99_ms} ms ({t.subscribers} sub.)" for t in live.worst_regions
    )
    rows = [
        (
            "data set",
            f"{outcome.hospitals:,} hospitals in {outcome.regions} regions, {outcome.wards:,} "
            f"wards (largest region {outcome.largest_region_hospitals} hospitals)",
        ),
        ("hello (bare Litestar) req/s", f"{hello.requests_per_second:,.0f}"),
        (
            "region read req/s (x hello), p50 / p99",
            f"{quiet.requests_per_second:,.0f} ({quiet.x_hello}), "
            f"{quiet.p50_ms} / {quiet.p99_ms} ms "
            f"({quiet.response_bytes:,} bytes on average, {quiet.errors} errors)",
        ),
        (
            "the same while the country reports",
            f"{busy.requests_per_second:,.0f} ({busy.x_hello}), {busy.p50_ms} / {busy.p99_ms} ms; "
            f"{busy.pushes_per_second} reports/s acknowledged, p99 {busy.push_p99_ms} ms, "
            f"{busy.push_failures} failed",
        ),
        (
            "national summary median / max",
            f"{outcome.summary.median_ms} / {outcome.summary.max_ms} ms quiet, "
            f"{outcome.summary_reporting.median_ms} / {outcome.summary_reporting.max_ms} ms while "
            f"reporting ({outcome.summary.response_bytes:,} bytes)",
        ),
        (
            "memory: HTTP worker, live process",
            f"{m.worker_started_mib} → {m.worker_after_mib} MiB, {m.live_started_mib} → "
            f"{m.live_after_mib} MiB (whole server {m.server_after_mib} MiB after)",
        ),
        (
            "live: subscribers by region",
            f"{live.subscribers_connected} of {live.subscribers_requested} in {live.regions} "
            f"regions; {live.reports_acknowledged} reports at {live.rate_per_second:g}/s for "
            f"{live.duration_seconds:g} s ({live.push_errors} errors, {live.pushes_overtaken} "
            "overtaken)",
        ),
        (
            "live: from ack p50 / p90 / p99 / max",
            f"{d.p50_ms} / {d.p90_ms} / {d.p99_ms} / {d.max_ms} ms over {d.delivered:,} "
            f"deliveries; lost {d.lost}, out of order {d.out_of_order}",
        ),
        (
            "live: p99 per region, median / worst",
            f"{live.region_p99_median_ms} / {live.region_p99_max_ms} ms; worst: {worst}",
        ),
        ("live: server CPU while reporting", f"{live.server_cpu_percent} % of its core"),
    ]
    return "\n".join(
        [
            f"# National scale: {outcome.name}",
            "",
            f"`{outcome.command}` — {outcome.started_at}, commit {outcome.machine['commit']}, "
            f"{outcome.machine['cpu']} ({outcome.machine['cores']} cores); load average "
            f"{outcome.load_average_before[0]:.2f} before, {outcome.load_average_after[0]:.2f} "
            "after",
            "",
            "| measure | value |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in rows),
            "",
        ]
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.national",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--hospitals", type=int, default=NATIONAL_HOSPITALS)
    parser.add_argument("--regions", type=int, default=NATIONAL_REGIONS)
    parser.add_argument("--subscribers", type=int, default=1028, help="live, by region")
    parser.add_argument("--clients", type=int, default=4, help="subscriber processes")
    parser.add_argument("--rate", type=float, default=100.0, help="reports/s, live phase")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds, live phase")
    parser.add_argument("--read-rate", type=float, default=100.0, help="reports/s during reads")
    parser.add_argument("--reads-duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each wrk run")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--summaries", type=int, default=10, help="national summaries timed")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--name", default="national", help="results file name")
    return parser.parse_args()


async def main_async(args: argparse.Namespace, hospitals: list[Hospital]) -> Outcome:
    with servers() as (database_url, redis_url):
        print(f"loading {len(hospitals):,} hospitals", flush=True)
        async with prepared(database_url, redis_url, hospitals) as backing:
            with tempfile.TemporaryDirectory(prefix="bedsvc-national-logs-") as folder:
                # Blocking steps (wrk, the subscriber processes) with event loops of their own.
                return await asyncio.to_thread(measure, args, backing, Path(folder))


def main() -> None:
    args = parse_args()
    require_wrk()
    hospitals = national(args.hospitals, args.regions)
    # This runner pushes the reports: a client, on the client core (its threads too).
    os.sched_setaffinity(0, {args.client_cpu})
    before = list(os.getloadavg())
    outcome = asyncio.run(main_async(args, hospitals))
    outcome.load_average_before = before
    outcome.load_average_after = list(os.getloadavg())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(outcome)) + b"\n"
    )
    text = markdown(outcome)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
