"""Ingest load test: acknowledged reports per second against `pgbench -N` on the same
PostgreSQL, in the same run.

python -m loadtests.ingest [--rounds 3] [--duration 10] [--profile] [--no-live]

Starts bedsvc as `bedsvc serve --workers 2` does on one core (granian, two workers, and the
live process, which follows the same change stream; `--no-live` leaves it out) pinned to the
server core, with 1,000 registered hospitals; the hospitals' client runs pinned to the client core;
PostgreSQL and Redis are the servers in BEDSVC_LOADTEST_DATABASE_URL / BEDSVC_LOADTEST_REDIS_URL
(or embedded ones). Each round, interleaved: `pgbench -N -c16` for the baseline; sustained
reports from 16, 64 and 256 hospitals at once (3 wards per report) and from 64 others (30
wards); a burst of all 1,000 hospitals posting one report at the same instant. After every scenario,
every acknowledged report is looked up in `occupancy_history`. Medians over the rounds go to
loadtests/results/ingest.json and ingest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis
import uvloop

from bedsvc.access.actor import OPERATOR
from bedsvc.access.keys import issue_key
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.app import build_services
from bedsvc.settings import Settings
from bedsvc.store import migrate
from loadtests import procs
from loadtests.backing import servers
from loadtests.ingest.client import Clock, Hospital, Tally, burst, sustained
from loadtests.portable import make_portable

RESULTS = Path(__file__).resolve().parent.parent / "results"
HOSPITALS = 1000
# (name, concurrent hospitals, wards per report)
SUSTAINED = [
    ("16 hospitals, 3 wards", 16, 3),
    ("64 hospitals, 3 wards", 64, 3),
    ("256 hospitals, 3 wards", 256, 3),
    ("64 hospitals, 30 wards", 64, 30),
]
BURST = "burst: 1,000 hospitals at once, 3 wards"


@dataclass
class Run:
    database_url: str
    redis_url: str
    prefix: str
    keys: dict[str, str]


async def prepare(server_database_url: str, redis_url: str, name: str) -> Run:
    """A database of the run's own with 1,000 hospitals and a key each."""
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    database_url = urlunsplit(urlsplit(server_database_url)._replace(path=f"/{name}"))
    prefix = f"bedsvc-ingest-{secrets.token_hex(4)}"
    await migrate(database_url)
    settings = Settings(database_url=database_url, redis_url=redis_url, redis_prefix=prefix)
    services = await build_services(settings)
    keys = {}
    try:
        for number in range(HOSPITALS):
            code = f"{3200000 + number}"
            region = f"32{number % 27:02d}"
            hospital = HospitalIn(code=code, name=f"RS Uji {number}", region_code=region)
            await save_hospital(services.pool, services.queries, services.sync, hospital, OPERATOR)
            async with services.pool.acquire() as conn:
                keys[code] = (await issue_key(conn, services.queries, "hospital", code)).key
    finally:
        await services.redis.aclose()
        await services.pool.close()
    return Run(database_url, redis_url, prefix, keys)


def start_server(
    run: Run, port: int, core: int, log_dir: Path, *, live: bool, cwd: Path | None = None
) -> procs.Server:
    """bedsvc as `bedsvc serve --workers 2` runs on one core: two HTTP workers and (`live`)
    the live process, following the same change stream, on `run`'s database, with limits no
    load here reaches."""
    env = {
        "BEDSVC_DATABASE_URL": run.database_url,
        "BEDSVC_REDIS_URL": run.redis_url,
        "BEDSVC_REDIS_PREFIX": run.prefix,
        "BEDSVC_LOG_LEVEL": "WARNING",
        "BEDSVC_WRITE_RATE_LIMIT_PER_MINUTE": "100000000",
        "BEDSVC_UNAUTHENTICATED_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    server = procs.start(
        "bedsvc",
        "bedsvc.asgi:app_from_env",
        server="granian",
        port=port,
        env={**env, "BEDSVC_LIVE_PORT": str(port + 100)},
        ready_path="/healthz",
        core=core,
        log_dir=log_dir,
        workers=2,
        cwd=cwd,
    )
    if live:
        try:
            server.companions.append(
                procs.start_live(port=port + 100, env=env, core=core, log_dir=log_dir, cwd=cwd)
            )
        except BaseException:
            server.stop()
            raise
    return server


async def drop(server_database_url: str, run: Run, name: str) -> None:
    client = aioredis.Redis.from_url(run.redis_url)
    stale = [key async for key in client.scan_iter(match=f"{run.prefix}:*")]
    if stale:
        await client.delete(*stale)
    await client.aclose()
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pgbench_path() -> str:
    found = shutil.which("pgbench")
    if found is None:
        raise SystemExit("pgbench is missing: apt-get install -y postgresql-client")
    return found


def pgbench_init(database_url: str) -> None:
    subprocess.run(
        [pgbench_path(), "-i", "-q", "-s", "10", database_url],
        check=True,
        capture_output=True,
    )


def pgbench(database_url: str, seconds: float, client_core: int) -> float:
    """`pgbench -N -c16`: TPC-B-like durable write transactions without the branch updates."""
    command = ["taskset", "-c", str(client_core), pgbench_path(), "-N", "-c", "16", "-j", "1"]
    out = subprocess.run(
        [*command, "-T", str(int(seconds)), database_url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{out}")
    return float(match.group(1))


def _ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 1)


async def unrecorded(database_url: str, tally: Tally, wards: int) -> tuple[int, int]:
    """Acknowledged reports missing from occupancy_history (each applied one must have a
    history row per ward at its reported_at), and acknowledged reports that were not applied
    (none should be: every report is newer than the hospital's last)."""
    applied = [a for a in tally.acknowledged if a.applied]
    conn = await asyncpg.connect(database_url)
    try:
        missing: int = await conn.fetchval(
            """
            SELECT count(*)
            FROM unnest($1::text[], $2::timestamptz[]) AS a (hospital_code, reported_at)
            WHERE (SELECT count(*) FROM occupancy_history h
                   WHERE h.hospital_code = a.hospital_code
                     AND h.reported_at = a.reported_at) <> $3
            """,
            [a.hospital for a in applied],
            [a.reported_at for a in applied],
            wards,
        )
    finally:
        await conn.close()
    return missing, len(tally.acknowledged) - len(applied)


def summary(tally: Tally, seconds: float, cpu: float, client_cpu: float) -> dict[str, Any]:
    acknowledged = len(tally.acknowledged)
    return {
        "acknowledged_per_second": round(acknowledged / seconds, 1),
        "acknowledged": acknowledged,
        "p50_ms": _ms(tally.latencies, 0.5),
        "p99_ms": _ms(tally.latencies, 0.99),
        "max_ms": _ms(tally.latencies, 1.0),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "broken_connections": tally.failures,
        "server_cpu_share": round(cpu / seconds, 2),
        "client_cpu_share": round(client_cpu / seconds, 2),
        "seconds": round(seconds, 2),
    }


async def scenario(
    server: procs.Server,
    run: Run,
    clock: Clock,
    name: str,
    concurrent: int,
    wards: int,
    seconds: float,
) -> dict[str, Any]:
    # A scenario of 3 wards reports for hospitals of 3 wards: the hospitals of many wards are
    # others (the last ones), whose every report carries all their wards' state.
    ordered = sorted(run.keys)
    codes = ordered[-concurrent:] if wards > 3 else ordered[:concurrent]
    hospitals = [Hospital(c, run.keys[c], "127.0.0.1", server.port) for c in codes]
    cpu_before, client_before = server.cpu_seconds(), time.process_time()
    if name == BURST:
        tally, took = await burst(hospitals, wards, clock)
    else:
        tally, took = await sustained(hospitals, wards, seconds, clock)
    result = summary(
        tally, took, server.cpu_seconds() - cpu_before, time.process_time() - client_before
    )
    for hospital in hospitals:
        await hospital.close()
    result["missing_from_history"], result["acknowledged_not_applied"] = await unrecorded(
        run.database_url, tally, wards
    )
    return result


def profile(server: procs.Server, seconds: float, out: Path) -> None:
    """py-spy on the workers while 64 hospitals report, as collapsed stacks."""
    main_pid = server.process.pid
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(main_pid), "--subprocesses", "--rate", "250"]
    command += [
        "--function",
        "--duration",
        str(int(seconds)),
        "--format",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
    ]
    subprocess.run(command, check=True, capture_output=True)


def top_frames(collapsed: Path, limit: int = 15) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's collapsed stacks: the functions the workers spent their samples in
    (self), and bedsvc's functions with everything they called (inclusive)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        # The first frame names the process: the same for every sample of a worker.
        frames = stack.split(";")[1:] or ["(idle)"]
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            if "(bedsvc/" in frame:
                inclusive[frame] += samples

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(n / total, 3)) for frame, n in counter.most_common(limit)]

    return {"self": shares(own), "bedsvc, inclusive": shares(inclusive)}


async def main_async(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {args.client_core})
    with servers() as (server_database_url, redis_url):
        name = f"bedsvc_ingest_{secrets.token_hex(4)}"
        bench_name = f"{name}_pgbench"
        run = await prepare(server_database_url, redis_url, name)
        admin = await asyncpg.connect(server_database_url)
        await admin.execute(f'CREATE DATABASE "{bench_name}"')
        await admin.close()
        bench_url = urlunsplit(urlsplit(server_database_url)._replace(path=f"/{bench_name}"))
        pgbench_init(bench_url)
        log_dir = Path(tempfile.mkdtemp(prefix="bedsvc-ingest-logs-"))
        server = start_server(run, args.port, args.server_core, log_dir, live=not args.no_live)
        # Reports a millisecond apart from here never reach the present, and stay younger
        # than BEDSVC_MAX_REPORT_AGE_SECONDS (a day) allows.
        clock = Clock(datetime.now(UTC) - timedelta(hours=12))
        rounds: list[dict[str, Any]] = []
        try:
            # Warm-up: connections, prepared statements, caches.
            await scenario(server, run, clock, "warm-up", 64, 3, min(args.duration, 3))
            for number in range(1, args.rounds + 1):
                results: dict[str, Any] = {
                    "pgbench -N -c16 (TPS)": pgbench(bench_url, args.duration, args.client_core)
                }
                print(f"round {number}: pgbench {results['pgbench -N -c16 (TPS)']:,.0f} TPS")
                for label, concurrent, wards in SUSTAINED:
                    results[label] = await scenario(
                        server, run, clock, label, concurrent, wards, args.duration
                    )
                    _print(label, results[label])
                results[BURST] = await scenario(server, run, clock, BURST, HOSPITALS, 3, 0)
                _print(BURST, results[BURST])
                rounds.append(results)
            profile_summary: dict[str, list[tuple[str, float]]] = {}
            if args.profile:
                collapsed = RESULTS / "ingest-profile.txt"
                task = asyncio.ensure_future(
                    scenario(server, run, clock, "profile", 64, 3, args.duration + 2)
                )
                await asyncio.to_thread(profile, server, args.duration, collapsed)
                make_portable(collapsed)
                await task
                profile_summary = top_frames(collapsed)
        finally:
            server.stop()
            await drop(server_database_url, run, name)
            admin = await asyncpg.connect(server_database_url)
            await admin.execute(f'DROP DATABASE "{bench_name}" WITH (FORCE)')
            await admin.close()
    write(rounds, profile_summary, args)


def _print(label: str, result: dict[str, Any]) -> None:
    print(
        f"  {label:40} {result['acknowledged_per_second']:>8,.1f} reports/s"
        f"  p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
        f"  statuses {result['statuses']}  missing {result['missing_from_history']}"
        f"  server cpu {result['server_cpu_share']}  client cpu {result['client_cpu_share']}",
        flush=True,
    )


def _median(rounds: list[dict[str, Any]], label: str, key: str) -> float:
    return round(statistics.median(r[label][key] for r in rounds), 1)


def write(
    rounds: list[dict[str, Any]], frames: dict[str, list[tuple[str, float]]], args: Any
) -> None:
    tps = statistics.median(r["pgbench -N -c16 (TPS)"] for r in rounds)
    medians: dict[str, Any] = {"pgbench -N -c16 (TPS)": round(tps, 1)}
    for label in [s[0] for s in SUSTAINED] + [BURST]:
        rate = _median(rounds, label, "acknowledged_per_second")
        medians[label] = {
            "acknowledged_per_second": rate,
            "ratio_to_pgbench": round(rate / tps, 3),
            # Each round's scenario against the same round's pgbench, closer in time.
            "ratio_to_pgbench_by_round": [
                round(r[label]["acknowledged_per_second"] / r["pgbench -N -c16 (TPS)"], 3)
                for r in rounds
            ],
            "p50_ms": _median(rounds, label, "p50_ms"),
            "p99_ms": _median(rounds, label, "p99_ms"),
            "max_ms": _median(rounds, label, "max_ms"),
            "missing_from_history": sum(r[label]["missing_from_history"] for r in rounds),
            "non_200": sum(
                n for r in rounds for s, n in r[label]["statuses"].items() if s != "200"
            ),
        }
    sixteen = medians[SUSTAINED[0][0]]["acknowledged_per_second"]
    medians["256 vs 16"] = round(medians[SUSTAINED[2][0]]["acknowledged_per_second"] / sixteen, 3)
    document = {
        "command": f"python -m loadtests.ingest --rounds {args.rounds} --duration {args.duration}",
        "medians": medians,
        "rounds": rounds,
        "profile_top_frames": frames,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(document, indent=2) + "\n")
    lines = [
        "# Ingest",
        "",
        f"`{document['command']}`: medians of {len(rounds)} interleaved rounds; "
        f"`pgbench -N -c16` on the same PostgreSQL: {tps:,.0f} TPS.",
        "",
        "| scenario | reports/s | x pgbench | x pgbench by round (median) | p50 ms | p99 ms "
        "| max ms | non-200 | missing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in [s[0] for s in SUSTAINED] + [BURST]:
        m = medians[label]
        by_round = m["ratio_to_pgbench_by_round"]
        lines.append(
            f"| {label} | {m['acknowledged_per_second']:,.1f} | {m['ratio_to_pgbench']} "
            f"| {', '.join(map(str, by_round))} ({statistics.median(by_round):.3f}) "
            f"| {m['p50_ms']} | {m['p99_ms']} | {m['max_ms']} | {m['non_200']} "
            f"| {m['missing_from_history']} |"
        )
    lines += ["", f"256 vs 16 concurrent hospitals: {medians['256 vs 16']}x.", ""]
    for kind, top in frames.items():
        lines += [f"## Profile (py-spy, both workers, 64 hospitals): {kind}", ""]
        lines += ["| share of samples | function |", "|---:|---|"]
        lines += [f"| {share:.1%} | `{frame}` |" for frame, share in top]
        lines.append("")
    (RESULTS / "ingest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="py-spy the workers once")
    parser.add_argument(
        "--no-live", action="store_true", help="the HTTP workers alone, without a live process"
    )
    uvloop.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
