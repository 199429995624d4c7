"""Servers under test: started pinned to a core, waited for, measured, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    pids: list[int] = field(default_factory=list)
    # Processes started with this one and measured and stopped with it (a live process).
    companions: list[Server] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids) + sum(c.cpu_seconds() for c in self.companions)

    def stop(self) -> None:
        for companion in self.companions:
            companion.stop()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _launch(
    command: list[str], *, core: int | None, env: dict[str, str], log: Path, cwd: Path | None
) -> subprocess.Popen[bytes]:
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )


def start(
    name: str,
    target: str,
    *,
    server: str,
    port: int,
    env: dict[str, str],
    ready_path: str,
    core: int | None,
    log_dir: Path,
    workers: int = 1,
    cwd: Path | None = None,
) -> Server:
    """`cwd`: the checkout whose `bedsvc` the server runs (its own directory comes first on
    the module path); this one's by default."""
    command = [sys.executable, "-m", "loadtests.serve", "--server", server]
    command += ["--port", str(port), "--workers", str(workers), target]
    log = log_dir / f"{name}-{server}-{port}.log"
    process = _launch(command, core=core, env=env, log=log, cwd=cwd)
    started = Server(name=name, port=port, process=process, log=log)
    try:
        wait_ready(started, ready_path)
    except BaseException:
        started.stop()
        raise
    # Granian and uvicorn run the app in child processes: measure the whole tree.
    started.pids = descendants(process.pid)
    return started


def start_live(
    *, port: int, env: dict[str, str], core: int | None, log_dir: Path, cwd: Path | None = None
) -> Server:
    """A live process (`python -m bedsvc.live`) as `bedsvc serve` starts one next to its HTTP
    workers, ready once it answers its health check."""
    log = log_dir / f"bedsvc-live-{port}.log"
    process = _launch(
        [sys.executable, "-m", "bedsvc.live", "--port", str(port)],
        core=core,
        env=env,
        log=log,
        cwd=cwd,
    )
    started = Server(name="bedsvc-live", port=port, process=process, log=log)
    try:
        wait_ready(started, "/healthz")
    except BaseException:
        started.stop()
        raise
    started.pids = [process.pid]
    return started


def wait_ready(server: Server, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited; see {server.log}")
        try:
            if httpx.get(server.base_url + path, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready within {timeout:.0f} s; see {server.log}")
