"""Two checkouts' push paths side by side: reports per second and the server's CPU per push.

    python -m loadtests.ingest.compare --baseline /path/to/other/checkout [--pairs 5]

Two servers run as `bedsvc serve --workers 2` runs on one core (two HTTP workers and the live
process), both pinned to the server core: this checkout's and the baseline's (a `git
worktree` of another commit, say), each on a database and Redis prefix of its own, prepared
by this checkout (so the baseline runs on this checkout's schema). 64 hospitals push from the
client core to one server at a time, 3 wards per report, alternating which goes first in each
pair.

On a shared 2-core machine both measures move by 10 % or more from run to run; the pairs put
both sides in the same minutes, and the medians of both are printed and written to
loadtests/results/ingest-compare.json and ingest-compare.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvloop

from loadtests.backing import servers
from loadtests.http import commit
from loadtests.ingest.__main__ import RESULTS, Run, drop, prepare, scenario, start_server
from loadtests.ingest.client import Clock

HOSPITALS = 64
WARDS = 3
HERE = Path(__file__).resolve().parents[2]


async def main_async(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {args.client_core})
    sides = {"this": HERE, "baseline": args.baseline.resolve()}
    runs: dict[str, tuple[str, Run]] = {}
    started = {}
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    with servers() as (server_database_url, redis_url):
        try:
            log_dir = Path(tempfile.mkdtemp(prefix="bedsvc-compare-logs-"))
            for number, (side, checkout) in enumerate(sides.items()):
                name = f"bedsvc_compare_{side}_{secrets.token_hex(3)}"
                runs[side] = (name, await prepare(server_database_url, redis_url, name))
                started[side] = start_server(
                    runs[side][1],
                    args.port + number,
                    args.server_core,
                    log_dir,
                    live=True,
                    cwd=checkout,
                )
            # Reports a millisecond apart from here never reach the present.
            clock = Clock(datetime.now(UTC) - timedelta(hours=12))
            for side, server in started.items():
                await scenario(server, runs[side][1], clock, "warm-up", HOSPITALS, WARDS, 3)
            for pair in range(args.pairs):
                order = list(sides) if pair % 2 == 0 else list(reversed(sides))
                for side in order:
                    result = await scenario(
                        started[side], runs[side][1], clock, side, HOSPITALS, WARDS, args.duration
                    )
                    result["cpu_us_per_push"] = round(
                        1e6 * result["server_cpu_share"] / result["acknowledged_per_second"]
                    )
                    results[side].append(result)
                    print(
                        f"pair {pair + 1} {side:8} {result['acknowledged_per_second']:>8,.1f} "
                        f"reports/s  {result['cpu_us_per_push']} us CPU per push  "
                        f"p99 {result['p99_ms']} ms  missing {result['missing_from_history']}",
                        flush=True,
                    )
        finally:
            for server in started.values():
                server.stop()
            for name, run in runs.values():
                await drop(server_database_url, run, name)
    write(args, {side: commit(checkout) for side, checkout in sides.items()}, results)


def write(
    args: argparse.Namespace, commits: dict[str, str], results: dict[str, list[dict[str, Any]]]
) -> None:
    medians = {
        side: {
            key: statistics.median(r[key] for r in rounds)
            for key in ("acknowledged_per_second", "cpu_us_per_push", "p99_ms")
        }
        for side, rounds in results.items()
    }
    (RESULTS / "ingest-compare.json").write_text(
        json.dumps({"commits": commits, "medians": medians, "pairs": results}, indent=2) + "\n"
    )
    command = (
        f"python -m loadtests.ingest.compare --baseline <{commits['baseline']}> "
        f"--pairs {args.pairs} --duration {args.duration}"
    )
    lines = [
        "# Ingest: two checkouts side by side",
        "",
        f"`{command}`: {HOSPITALS} hospitals, {WARDS} wards per report, medians of "
        f"{args.pairs} interleaved pairs.",
        "",
        "| checkout | commit | reports/s | server CPU per push | p99 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for side, median in medians.items():
        lines.append(
            f"| {side} | {commits[side]} | {median['acknowledged_per_second']:,.1f} "
            f"| {median['cpu_us_per_push']:.0f} µs | {median['p99_ms']:.1f} |"
        )
    # Each pair ran within the same minute or so: their ratios drift less than either side.
    ratios = {
        key: statistics.median(
            mine[key] / theirs[key]
            for mine, theirs in zip(results["this"], results["baseline"], strict=True)
        )
        for key in ("acknowledged_per_second", "cpu_us_per_push")
    }
    missing = sum(r["missing_from_history"] for rounds in results.values() for r in rounds)
    lines += [
        "",
        "Median of the pairs' ratios, this / baseline: reports/s "
        f"{ratios['acknowledged_per_second']:.3f}, server CPU per push "
        f"{ratios['cpu_us_per_push']:.3f}.",
        "",
        f"Acknowledged reports missing from the history: {missing}.",
    ]
    (RESULTS / "ingest-compare.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--port", type=int, default=8710)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    uvloop.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
