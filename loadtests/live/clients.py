"""The subscriber processes of the fan-out load tests (`loadtests/live/client.py`): started
pinned to the client core, waited for until every subscriber holds its snapshot, stopped and
read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec

from loadtests.live.client import Received


def start_clients(
    url: str, count: int, processes: int, cpu: int, folder: Path
) -> list[subprocess.Popen[str]]:
    """`count` subscribers of `url` over `processes` processes pinned to `cpu`."""
    shares = [count // processes + (i < count % processes) for i in range(processes)]
    return [
        start_client(url, share, cpu, folder / f"client-{i}.msgpack")
        for i, share in enumerate(shares)
    ]


def start_filtered_clients(
    urls: list[str], processes: int, cpu: int, folder: Path
) -> list[subprocess.Popen[str]]:
    """One subscriber per URL (each with its own filter), over `processes` processes."""
    clients = []
    for i in range(processes):
        mine = urls[i::processes]
        if not mine:
            continue
        listed = folder / f"client-{i}.urls"
        listed.write_text("\n".join(mine) + "\n")
        clients.append(start_client(f"@{listed}", len(mine), cpu, folder / f"client-{i}.msgpack"))
    return clients


def start_client(url: str, count: int, cpu: int, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            str(cpu),
            sys.executable,
            "-m",
            "loadtests.live.client",
            url,
            str(count),
            str(out),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_ready(clients: list[subprocess.Popen[str]]) -> tuple[int, int]:
    connected = failed = 0
    for client in clients:
        assert client.stdout is not None
        _, ok, bad = client.stdout.readline().split()
        connected, failed = connected + int(ok), failed + int(bad)
    return connected, failed


def collect(clients: list[subprocess.Popen[str]]) -> list[Received]:
    """Stops the subscriber processes and reads what each subscriber received."""
    for client in clients:
        assert client.stdin is not None
        client.stdin.write("stop\n")
        client.stdin.flush()
    received: list[Received] = []
    for client in clients:
        assert client.stdout is not None
        client.stdout.readline()
        client.wait()
        data = Path(client.args[-1]).read_bytes()
        received += msgspec.msgpack.decode(data, type=list[Received])
    return received
