"""The public read path under load, against baselines measured in the same run.

    python -m loadtests.http [--duration 10] [--servers granian,uvicorn]

Every server under test runs pinned to one core and wrk to the other. For each candidate ASGI
server: a bare Litestar "hello" handler, a handler that queries PostgreSQL on every request,
then bedsvc on the scenarios below. Then two bedsvc instances to time how long after a push is
acknowledged every worker serves the new version. Then bedsvc behind nginx's micro-cache
against nginx serving the same document as a static file (loadtests/edge.py; `--no-edge` to
leave it out). Results go to loadtests/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from loadtests import report
from loadtests.backing import Backing, prepared, servers
from loadtests.dataset import CITY
from loadtests.edge import behind_nginx
from loadtests.procs import Server, start
from loadtests.pushers import freshness, pushing
from loadtests.wrk import Load, require_wrk, run

SERVER_CORE = 0
BASELINES = {"hello", "postgres"}
FULL = "/api/v1/availability"
CITY_NEAR = f"/api/v1/availability?region={CITY}&near=-6.71,108.55"
GZIP = {"Accept-Encoding": "gzip"}


@dataclass
class Scenario:
    name: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    revalidate: bool = False  # send If-None-Match with the current ETag: 304s
    # Simulated hospitals push 100 reports/s meanwhile: into the worker under test ("same"),
    # or into another instance on the client core ("other"), so that the worker under test
    # only follows the change stream, as a read worker behind a write/read split would.
    pushes: str | None = None


BEDSVC = [
    Scenario("full document", FULL),
    Scenario("region filter (40 hospitals)", f"{FULL}?region={CITY}"),
    Scenario("region + near", CITY_NEAR),
    Scenario("304 revalidation", FULL, revalidate=True),
    Scenario("full document, gzip", FULL, GZIP),
    Scenario("region + near, gzip", CITY_NEAR, GZIP),
    Scenario("full document, 100 pushes/s into it", FULL, pushes="same"),
    Scenario("full document, 100 pushes/s elsewhere", FULL, pushes="other"),
    Scenario("full document, gzip, 100 pushes/s elsewhere", FULL, GZIP, pushes="other"),
    Scenario("hospital detail", "/api/v1/hospitals/3274001"),
]
# The same app with the fast path off: what routing and middleware cost on the hot path.
HANDLER = [
    Scenario("full document, fast path off", FULL),
    Scenario("304 revalidation, fast path off", FULL, revalidate=True),
]
BARE_HANDLER = [
    Scenario("304 revalidation, fast path off, no middleware", FULL, revalidate=True),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def prepare_request(server: Server, scenario: Scenario) -> tuple[dict[str, str], int]:
    """The scenario's headers (with the current ETag if it revalidates) and response size."""
    headers = {"Accept-Encoding": "identity"} | scenario.headers
    first = httpx.get(server.base_url + scenario.path, headers=headers, timeout=30)
    first.raise_for_status()
    if scenario.revalidate:
        headers["If-None-Match"] = first.headers["etag"]
        again = httpx.get(server.base_url + scenario.path, headers=headers, timeout=30)
        if again.status_code != 304:
            raise RuntimeError(f"{scenario.name}: expected 304, got {again.status_code}")
        return headers, 0
    return headers, int(first.headers["content-length"])


async def measure(
    server: Server, scenario: Scenario, load: Load, backing: Backing, logs: Path
) -> dict[str, Any]:
    headers, size = prepare_request(server, scenario)
    if scenario.pushes is None:
        result = await asyncio.to_thread(run, server, scenario.path, headers, load, size)
        return result.as_dict()
    ingest = None
    if scenario.pushes == "other":
        ingest = start(
            "bedsvc-ingest",
            "bedsvc.asgi:app_from_env",
            server="granian",
            port=free_port(),
            env=backing.env(),
            ready_path="/readyz",
            core=load.client_core,
            log_dir=logs,
        )
    target = server if ingest is None else ingest
    try:
        async with pushing(target.base_url, backing.hospitals, backing.keys, 100) as stats:
            result = await asyncio.to_thread(run, server, scenario.path, headers, load, size)
    finally:
        if ingest is not None:
            ingest.stop()
    return result.as_dict() | stats.summary(load.duration + load.warmup)


async def candidate(
    server_kind: str, load: Load, backing: Backing, logs: Path, only: str
) -> dict[str, Any]:
    """Baselines and bedsvc on one ASGI server, all pinned to the same core."""
    results: dict[str, Any] = {}

    def serve(name: str, target: str, env: dict[str, str], ready: str) -> Server:
        print(f"  starting {name} on {server_kind}", flush=True)
        return start(
            name,
            target,
            server=server_kind,
            port=free_port(),
            env=env,
            ready_path=ready,
            core=SERVER_CORE,
            log_dir=logs,
        )

    plan = [
        ("hello", "loadtests.baselines:hello_app", {}, "/hello", [Scenario("hello", "/hello")]),
        (
            "postgres",
            "loadtests.baselines:naive_app",
            backing.env(),
            FULL,
            [Scenario("PostgreSQL per request", FULL)],
        ),
        ("bedsvc", "bedsvc.asgi:app_from_env", backing.env(), "/readyz", BEDSVC),
        (
            "bedsvc-handler",
            "bedsvc.asgi:app_from_env",
            backing.env() | {"BEDSVC_PUBLIC_FAST_PATH": "false"},
            "/readyz",
            HANDLER,
        ),
        (
            "bedsvc-bare",
            "loadtests.variants:bedsvc_without_middleware",
            backing.env() | {"BEDSVC_PUBLIC_FAST_PATH": "false"},
            "/readyz",
            BARE_HANDLER,
        ),
    ]
    for name, target, env, ready, all_scenarios in plan:
        scenarios = [s for s in all_scenarios if name in BASELINES or only in s.name]
        if not scenarios:
            continue
        server = serve(name, target, env, ready)
        try:
            for scenario in scenarios:
                results[scenario.name] = await measure(server, scenario, load, backing, logs)
                report.print_line(server_kind, scenario.name, results[scenario.name])
        finally:
            server.stop()
    return results


async def propagation(backing: Backing, logs: Path, pushes: int) -> dict[str, Any]:
    """Two single-worker instances on the server core, so the polling client stays off it;
    each worker follows the change stream on its own, as every worker process does."""
    instances = [
        start(
            f"bedsvc-{n}",
            "bedsvc.asgi:app_from_env",
            server="granian",
            port=free_port(),
            env=backing.env(),
            ready_path="/readyz",
            core=SERVER_CORE,
            log_dir=logs,
        )
        for n in (1, 2)
    ]
    try:
        urls = [instance.base_url for instance in instances]
        return await freshness(urls, backing.hospitals, backing.keys, pushes)
    finally:
        for instance in instances:
            instance.stop()


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {"cpu": model, "cores": os.cpu_count(), "commit": commit()}


def commit(checkout: Path | None = None) -> str:
    """The short commit of a checkout (this one by default)."""
    where = [] if checkout is None else ["-C", str(checkout)]
    return subprocess.run(
        ["git", *where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()


async def main_async(args: argparse.Namespace) -> None:
    require_wrk()
    load = Load(connections=args.connections, duration=args.duration, warmup=args.warmup)
    with servers() as (database_url, redis_url):
        # The runner (and the pushers it drives) is a client: it shares wrk's core.
        os.sched_setaffinity(0, {load.client_core})
        async with prepared(database_url, redis_url) as backing:
            sizes = report.dataset_summary(backing)
            print(f"data set: {sizes}", flush=True)
            outcome: dict[str, Any] = {
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "load_average_before": os.getloadavg(),
                "machine": machine(),
                "load": load.__dict__,
                "dataset": sizes,
                "servers": {},
            }
            with tempfile.TemporaryDirectory(prefix="bedsvc-load-logs-") as folder:
                for kind in filter(None, args.servers.split(",")):
                    print(f"{kind}:", flush=True)
                    outcome["servers"][kind] = await candidate(
                        kind, load, backing, Path(folder), args.only
                    )
                if args.freshness_pushes > 0:
                    print("propagation to every worker:", flush=True)
                    fresh = await propagation(backing, Path(folder), args.freshness_pushes)
                    outcome["propagation"] = fresh
                    print(f"  {fresh}", flush=True)
                if not args.no_edge:
                    print("nginx in front:", flush=True)
                    outcome["edge"] = await behind_nginx(
                        load, backing, Path(folder), SERVER_CORE, args.edge_freshness_pushes
                    )
            outcome["load_average_after"] = os.getloadavg()
    report.write(outcome, Path(args.output))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--servers", default="granian,uvicorn", help="ASGI servers to compare")
    parser.add_argument("--freshness-pushes", type=int, default=200)
    parser.add_argument(
        "--no-edge", action="store_true", help="leave out bedsvc behind nginx's micro-cache"
    )
    parser.add_argument(
        "--edge-freshness-pushes",
        type=int,
        default=50,
        help="pushes timed until nginx serves them",
    )
    parser.add_argument("--only", default="", help="bedsvc scenarios whose name has this")
    parser.add_argument(
        "--output",
        default=str(Path(__file__).with_name("results") / "http"),
        help="results path without extension (.json and .md are written)",
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
