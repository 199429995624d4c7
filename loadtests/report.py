"""The run's results as JSON and as a Markdown table, with every ratio to the baselines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loadtests.backing import Backing
from loadtests.dataset import CITY

HELLO = "hello"
POSTGRES = "PostgreSQL per request"


def dataset_summary(backing: Backing) -> dict[str, int]:
    return {
        "hospitals": len(backing.hospitals),
        "wards": sum(len(h.wards) for h in backing.hospitals),
        "hospitals_in_region_filter": sum(h.info.region_code == CITY for h in backing.hospitals),
    }


def print_line(server: str, scenario: str, result: dict[str, Any]) -> None:
    print(
        f"  {server:8} {scenario:48} {result['requests_per_second']:>9,.0f} req/s"
        f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
        f"  errors {result['errors']}  server {result['server_cpu_us_per_request']:,.0f} us/req",
        flush=True,
    )


def _ratio(value: float, baseline: float, digits: int) -> float | None:
    return round(value / baseline, digits) if baseline > 0 else None


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    hello = results[HELLO]["requests_per_second"]
    postgres = results[POSTGRES]["requests_per_second"]
    return {
        name: {
            "vs_hello": _ratio(result["requests_per_second"], hello, 3),
            "vs_postgres": _ratio(result["requests_per_second"], postgres, 1),
        }
        for name, result in results.items()
    }


def _times(ratio: float | None, digits: int) -> str:
    return "n/a" if ratio is None else f"{ratio:.{digits}f}"


def markdown(outcome: dict[str, Any]) -> str:
    load = outcome["load"]
    lines = [
        "# bedsvc HTTP load test",
        "",
        f"Run {outcome['started_at']} at commit {outcome['machine']['commit']} on "
        f"{outcome['machine']['cpu']} ({outcome['machine']['cores']} cores, shared machine; "
        f"load average before {outcome['load_average_before'][0]:.2f}, "
        f"after {outcome['load_average_after'][0]:.2f}).",
        f"Server pinned to core 0, `wrk -t1 -c{load['connections']}` pinned to core 1, "
        f"{load['duration']:g} s per row after {load['warmup']:g} s of warm-up.",
        f"Data set: {outcome['dataset']['hospitals']} hospitals, "
        f"{outcome['dataset']['wards']} wards; the region filter selects "
        f"{outcome['dataset']['hospitals_in_region_filter']}.",
        "",
    ]
    for server, results in outcome["servers"].items():
        relative = ratios(results)
        lines += [
            f"## {server}",
            "",
            "| scenario | req/s | p50 ms | p99 ms | errors | x hello | x PostgreSQL "
            "| server CPU us/req | response bytes |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, result in results.items():
            lines.append(
                f"| {name} | {result['requests_per_second']:,.0f} | {result['p50_ms']:.2f} "
                f"| {result['p99_ms']:.2f} | {result['errors']} "
                f"| {_times(relative[name]['vs_hello'], 2)} "
                f"| {_times(relative[name]['vs_postgres'], 1)} "
                f"| {result['server_cpu_us_per_request']:,.0f} | {result['response_bytes']:,} |"
            )
            if "pushes_per_second" in result:
                lines.append(
                    f"| ↳ pushes meanwhile | {result['pushes_per_second']:.0f}/s acknowledged "
                    f"| {result['push_p50_ms']:.1f} | {result['push_p99_ms']:.1f} "
                    f"| {result['failed']} | | | | |"
                )
        lines.append("")
    if "propagation" in outcome:
        fresh = outcome["propagation"]
        lines += [
            "## From acknowledged push to every worker serving it",
            "",
            f"{fresh['workers']} single-worker instances on the server core, "
            f"{fresh['pushes']} pushes, each followed by revalidating the full document on "
            "every worker until its ETag carries the new version (the time includes sending "
            "that new document). 'At once' is the share of workers whose first request after "
            "the acknowledgement already had the change.",
            "",
            "| p50 ms | p99 ms | max ms | at once |",
            "|---:|---:|---:|---:|",
            f"| {fresh['p50_ms']:.1f} | {fresh['p99_ms']:.1f} | {fresh['max_ms']:.1f} "
            f"| {fresh['first_request_already_new']:.1%} |",
            "",
        ]
    lines += _edge_lines(outcome.get("edge"))
    return "\n".join(lines)


def _edge_lines(edge: dict[str, Any] | None) -> list[str]:
    if edge is None:
        return []
    if "skipped" in edge:
        return ["## Behind nginx", "", f"Skipped: {edge['skipped']}", ""]
    lines = [
        "## Behind nginx (deploy/nginx/bedsvc.conf)",
        "",
        "nginx (one worker) and bedsvc (one worker) on the server core, HTTPS, the same "
        f"document both ways. Target: >= {edge['target']} x the static file.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors | x static file | server CPU us/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, result in edge["results"].items():
        lines.append(
            f"| {name} | {result['requests_per_second']:,.0f} | {result['p50_ms']:.2f} "
            f"| {result['p99_ms']:.2f} | {result['errors']} "
            f"| {_times(edge['vs_static'][name], 2)} "
            f"| {result['server_cpu_us_per_request']:,.0f} |"
        )
    if "freshness" in edge:
        fresh = edge["freshness"]
        lines += [
            "",
            f"From an acknowledged push to nginx serving it ({fresh['pushes']} pushes, "
            "polling through nginx every 10 ms): "
            f"p50 {fresh['p50_ms']:.0f} ms, p99 {fresh['p99_ms']:.0f} ms, "
            f"max {fresh['max_ms']:.0f} ms (target: max-age plus one fetch).",
        ]
    return [*lines, ""]


def write(outcome: dict[str, Any], base: Path) -> None:
    for server, results in outcome["servers"].items():
        outcome.setdefault("ratios", {})[server] = ratios(results)
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".json").write_text(json.dumps(outcome, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(outcome))
    for server, relative in outcome.get("ratios", {}).items():
        print(f"ratios on {server}:")
        for name, ratio in relative.items():
            print(
                f"  {name:48} {_times(ratio['vs_hello'], 2):>6} x hello"
                f"  {_times(ratio['vs_postgres'], 1):>8} x PostgreSQL per request"
            )
    print(f"written: {base.with_suffix('.json')}, {base.with_suffix('.md')}")
