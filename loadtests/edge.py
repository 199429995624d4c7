"""bedsvc behind nginx (deploy/nginx/bedsvc.conf, its micro-cache in front of the public
reads) against nginx serving the same document as a static file, in the same run, over the
same TLS, on the same core. Target: the micro-cached read at >= 0.8 x the static file, and the
document through nginx no older than max-age plus one fetch after a push.

nginx (one worker) and bedsvc (one granian worker) share the server core, as they would share
a machine; wrk runs on the other. The server CPU per request counts both.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from loadtests.backing import Backing
from loadtests.procs import Server, descendants, start
from loadtests.pushers import push_report, pushing
from loadtests.wrk import Load, run
from tests.support.nginx import NginxProcess, Ports, free_port, nginx_missing

FULL = "/api/v1/availability"
STATIC = "/document.json"
IDENTITY = {"Accept-Encoding": "identity"}
TARGET = 0.8


@dataclass
class TlsServer(Server):
    """nginx as a server under test: wrk and the pollers speak HTTPS to it."""

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def static_site(folder: Path, port: int, certificate: Path, key: Path) -> str:
    """A server of its own for the baseline: the same TLS settings, the document as a file."""
    return f"""
server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {certificate};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bedsvc_tls:10m;
    location = {STATIC} {{
        alias {folder / "document.json"};
        default_type application/json;
    }}
}}
"""


def pin(pid: int, core: int) -> list[int]:
    pids = descendants(pid)
    for each in pids:
        os.sched_setaffinity(each, {core})
    return pids


async def freshness_through_nginx(
    nginx: str, upstream: str, tls: ssl.SSLContext, backing: Backing, pushes: int
) -> dict[str, Any]:
    """After each push is acknowledged (by bedsvc), how long until nginx serves it."""
    rng = random.Random(13)
    delays, polls = [], []
    async with (
        httpx.AsyncClient(base_url=nginx, verify=tls, timeout=10) as reader,
        httpx.AsyncClient(base_url=upstream, timeout=10) as writer,
    ):
        for n in range(pushes):
            hospital = backing.hospitals[n % len(backing.hospitals)]
            response = await push_report(writer, hospital, backing.keys[hospital.code], rng)
            acknowledged = time.perf_counter()
            response.raise_for_status()
            version = response.json()["version"]
            attempts = 1
            detail = f"/api/v1/hospitals/{hospital.code}"
            while (await reader.get(detail, headers=IDENTITY)).json()["version"] < version:
                attempts += 1
                await asyncio.sleep(0.01)
            delays.append(time.perf_counter() - acknowledged)
            polls.append(attempts)
            await asyncio.sleep(0.05)
    ordered = sorted(delays)
    return {
        "pushes": pushes,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_polls": round(statistics.mean(polls), 1),
    }


async def behind_nginx(
    load: Load, backing: Backing, logs: Path, core: int, freshness_pushes: int
) -> dict[str, Any]:
    if (reason := nginx_missing()) is not None:
        print(f"  skipped: {reason}", flush=True)
        return {"skipped": reason}
    folder = logs / "nginx"
    ports = Ports.free()
    static_port = free_port()
    bedsvc = start(
        "bedsvc-behind-nginx",
        "bedsvc.asgi:app_from_env",
        server="granian",
        port=ports.http_upstreams[0],
        env=backing.env() | {"BEDSVC_TRUSTED_PROXIES": "127.0.0.1"},
        ready_path="/readyz",
        core=core,
        log_dir=logs,
    )
    nginx_process = None
    try:
        async with httpx.AsyncClient() as http:
            document = await http.get(bedsvc.base_url + FULL, headers=IDENTITY, timeout=30)
        document.raise_for_status()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "document.json").write_bytes(document.content)
        nginx_process = NginxProcess(folder, ports)
        nginx_process.add_site(
            static_site(folder, static_port, nginx_process.certificate, nginx_process.key)
        )
        nginx_process.start()
        assert nginx_process.process is not None
        nginx_pids = pin(nginx_process.process.pid, core)
        tls = ssl.create_default_context(cafile=nginx_process.certificate)

        def as_server(name: str, port: int) -> TlsServer:
            return TlsServer(
                name=name,
                port=port,
                process=nginx_process.process,  # type: ignore[arg-type]
                log=folder / "error.log",
                pids=nginx_pids + bedsvc.pids,
            )

        size = len(document.content)
        results: dict[str, Any] = {}
        plan = [
            ("nginx, static file", as_server("nginx-static", static_port), STATIC, False),
            ("bedsvc behind the nginx micro-cache", as_server("nginx", ports.tls), FULL, False),
            (
                "bedsvc behind the micro-cache, 100 pushes/s into bedsvc",
                as_server("nginx", ports.tls),
                FULL,
                True,
            ),
        ]
        for name, server, path, pushes in plan:
            if pushes:
                async with pushing(bedsvc.base_url, backing.hospitals, backing.keys, 100) as st:
                    result = await asyncio.to_thread(run, server, path, IDENTITY, load, size)
                results[name] = result.as_dict() | st.summary(load.duration + load.warmup)
            else:
                result = await asyncio.to_thread(run, server, path, IDENTITY, load, size)
                results[name] = result.as_dict()
            print(
                f"  {name:56} {results[name]['requests_per_second']:>9,.0f} req/s"
                f"  p99 {results[name]['p99_ms']:6.2f} ms  errors {results[name]['errors']}",
                flush=True,
            )
        static = results["nginx, static file"]["requests_per_second"]
        ratios = {
            name: round(result["requests_per_second"] / static, 3) if static else None
            for name, result in results.items()
        }
        outcome: dict[str, Any] = {"results": results, "vs_static": ratios, "target": TARGET}
        if freshness_pushes > 0:
            outcome["freshness"] = await freshness_through_nginx(
                nginx_process.base_url, bedsvc.base_url, tls, backing, freshness_pushes
            )
            print(f"  after a push, through nginx: {outcome['freshness']}", flush=True)
        return outcome
    finally:
        if nginx_process is not None:
            nginx_process.stop()
        bedsvc.stop()
