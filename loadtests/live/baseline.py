"""Baseline: what granian itself costs to fan one message out to N live connections, with a bare
ASGI app (no Litestar, no bedsvc) on the same core and the same clients as the fan-out test.

    python -m loadtests.live.baseline --subscribers 10000

For each transport (WebSocket, event stream) it connects N subscribers, broadcasts a 1.2 KB
message ten times, and reports per broadcast the wall time until granian had taken every send,
the worker's CPU time, and its memory per idle connection. Results go to
loadtests/results/live-baseline-N.json and .md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import granian
import httpx
import msgspec

from loadtests.live.__main__ import RESULTS, free_port, start_clients, wait_ready
from loadtests.live.server import ServerUnderTest

_sends: list[Any] = []
_version = 0
_PAD = "x" * 1150


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app under test: registers every live connection, broadcasts on POST."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": '{"type":"snapshot","version":0,"h":[]}'})
        _sends.append((send, "ws"))
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    if scope["path"] == "/ready":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["method"] == "GET":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        body = b'data: {"type":"snapshot","version":0,"h":[]}\n\n'
        await send({"type": "http.response.body", "body": body, "more_body": True})
        _sends.append((send, "sse"))
        while (await receive())["type"] != "http.disconnect":
            pass
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": await broadcast()})


async def broadcast() -> bytes:
    global _version
    _version += 1
    text = f'{{"type":"delta","version":{_version},"pad":"{_PAD}"}}'
    events = {
        "ws": {"type": "websocket.send", "text": text},
        "sse": {
            "type": "http.response.body",
            "body": f"data: {text}\n\n".encode(),
            "more_body": True,
        },
    }
    started, cpu = time.perf_counter(), time.process_time()
    pending = [send(events[kind]) for send, kind in _sends]
    for sent in pending:
        await sent
    result = {
        "subscribers": len(pending),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }
    return msgspec.json.encode(result)


class Transport(msgspec.Struct):
    transport: str
    subscribers: int
    broadcast_ms_median: float
    broadcast_ms_max: float
    worker_cpu_ms_median: float
    per_connection_bytes: int


def measure(transport: str, count: int, args: argparse.Namespace, folder: Path) -> Transport:
    port = free_port()
    server = ServerUnderTest(
        port,
        args.server_cpu,
        {},
        command=[
            "-m", "granian", "--interface", "asgi", "--port", str(port),
            "--backpressure", str(count + 1024), "--no-log", "loadtests.live.baseline:app",
        ],
    )  # fmt: skip
    try:
        server.wait_ready(path="/ready")
        rss_before = server.rss()
        path = "/ws" if transport == "ws" else "/api/v1/live/events"
        clients = start_clients(f"http://127.0.0.1:{port}{path}", count, 4, args.client_cpu, folder)
        connected, _ = wait_ready(clients)
        time.sleep(2)
        per_connection = (server.rss() - rss_before) // max(1, connected)
        runs = []
        for _ in range(10):
            runs.append(
                msgspec.json.decode(httpx.post(f"http://127.0.0.1:{port}/b", timeout=60).content)
            )
            time.sleep(1)
        for client in clients:
            client.kill()
            client.wait()
    finally:
        server.stop()
    return Transport(
        transport=transport,
        subscribers=connected,
        broadcast_ms_median=round(statistics.median(r["seconds"] for r in runs) * 1000, 1),
        broadcast_ms_max=round(max(r["seconds"] for r in runs) * 1000, 1),
        worker_cpu_ms_median=round(statistics.median(r["cpu_seconds"] for r in runs) * 1000, 1),
        per_connection_bytes=per_connection,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.live.baseline", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10000)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    with tempfile.TemporaryDirectory(prefix="bedsvc-baseline-") as folder:
        results = [measure(t, args.subscribers, args, Path(folder)) for t in ("ws", "sse")]
    name = f"live-baseline-{args.subscribers}"
    report = {
        "command": "python -m loadtests.live.baseline " + " ".join(sys.argv[1:]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"granian {granian.__version__}",
        "results": msgspec.to_builtins(results),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_bytes(msgspec.json.format(msgspec.json.encode(report)) + b"\n")
    lines = [
        f"# granian baseline: one message to {args.subscribers} connections, bare ASGI app",
        "",
        f"`{report['command']}` — {report['started_at']}, {report['machine']}",
        "",
        "| transport | connected | broadcast median / max | worker CPU per broadcast | "
        "memory per idle connection |",
        "|---|---|---|---|---|",
        *(
            f"| {'WebSocket' if r.transport == 'ws' else 'event stream'} | {r.subscribers} | "
            f"{r.broadcast_ms_median} / {r.broadcast_ms_max} ms | {r.worker_cpu_ms_median} ms | "
            f"{r.per_connection_bytes / 1024:.1f} KiB |"
            for r in results
        ),
        "",
        "Broadcast: from the first send to the last one taken by granian. 2-core machine shared "
        "with other work: numbers are noisy.",
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
