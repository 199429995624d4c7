"""One wrk run, pinned to the client core, with the server's CPU time measured alongside."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

REPORT_SCRIPT = Path(__file__).with_name("report.lua")


class Server(Protocol):
    """A server under test: where it answers, and its processes' CPU time so far."""

    @property
    def base_url(self) -> str: ...

    def cpu_seconds(self) -> float: ...


@dataclass
class Load:
    connections: int = 64
    duration: float = 10.0
    warmup: float = 3.0
    client_core: int = 1


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    # Server CPU time per request: less noisy than req/s on a shared machine.
    server_cpu_us_per_request: float
    server_cpu_share: float
    client_cpu_share: float
    response_bytes: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def require_wrk() -> None:
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: sudo apt-get install -y wrk util-linux")


def _wrk(
    url: str, headers: dict[str, str], load: Load, seconds: float, script: Path
) -> subprocess.Popen[str]:
    command = ["taskset", "-c", str(load.client_core), "wrk", "-t1"]
    command += [f"-c{load.connections}", f"-d{seconds:g}s", "--timeout", "5s"]
    command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def run(
    server: Server,
    path: str,
    headers: dict[str, str],
    load: Load,
    size: int,
    script: Path = REPORT_SCRIPT,
) -> Result:
    """`script` ends with report.lua's `done`; it may choose each request's path too."""
    url = server.base_url + path
    if load.warmup > 0:
        _wrk(url, headers, load, load.warmup, script).communicate()
    cpu_before, children_before = server.cpu_seconds(), _children_cpu()
    process = _wrk(url, headers, load, load.duration, script)
    out, _ = process.communicate()
    server_cpu = server.cpu_seconds() - cpu_before
    client_cpu = _children_cpu() - children_before  # wrk, reaped by communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed on {url}")
    report = json.loads(out.strip().splitlines()[-1])
    seconds = report["duration_us"] / 1e6
    requests = report["requests"]
    errors = sum(report[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(
        requests_per_second=round(requests / seconds, 1),
        p50_ms=round(report["p50_us"] / 1000, 2),
        p99_ms=round(report["p99_us"] / 1000, 2),
        errors=errors,
        requests=requests,
        server_cpu_us_per_request=round(server_cpu / max(requests, 1) * 1e6, 1),
        server_cpu_share=round(server_cpu / seconds, 2),
        client_cpu_share=round(client_cpu / seconds, 2),
        response_bytes=size,
    )
